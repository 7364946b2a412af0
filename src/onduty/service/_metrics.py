"""Prometheus metrics, one registry per service (tests run several at once)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter("onduty_commands", "Commands applied, by outcome", ["outcome"], registry=self.registry)
        # The labelled children, found once: `labels()` costs more than the increment.
        self.applied = self.commands.labels("applied")
        self.refused = self.commands.labels("refused")
        self.status_changes = Counter("onduty_status_changes", "Agent status changes (S7)", registry=self.registry)
        self.assignments = Counter("onduty_assignments", "Threads assigned by the router", registry=self.registry)
        self.queue_length = Gauge("onduty_queue_length", "Threads waiting in the general queue", registry=self.registry)
        self.commit_seconds = Histogram(
            "onduty_commit_seconds",
            "Time to commit one batch of commands",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "onduty_batch_commands",
            "Commands per commit (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        # Refusals are one outcome whatever their cause: this page is public, and telling unknown
        # usernames from wrong passwords here would say which usernames exist.
        self.sign_ins = Counter(
            "onduty_sign_ins",
            "Sign-ins by outcome: signed_in, refused (wrong username or password), limited (too many failures)",
            ["outcome"],
            registry=self.registry,
        )
        self.connected_clients = Gauge("onduty_connected_clients", "Live event stream clients", registry=self.registry)
        # Several instances.
        self.ownership_changes = Counter(
            "onduty_ownership_changes",
            "The workspace's lease gained or lost by this instance",
            ["change"],
            registry=self.registry,
        )
        self.forwarded = Counter(
            "onduty_forwarded",
            "What this instance sent to the owner: API requests that write, and commands of its own",
            ["kind"],
            registry=self.registry,
        )
        self.replication_lag = Histogram(
            "onduty_replication_lag_seconds",
            "From the owner's batch time to this follower applying it",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
