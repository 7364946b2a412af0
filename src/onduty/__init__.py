"""onduty: presence and routing for customer-support teams."""

__version__ = "0.1.0"
