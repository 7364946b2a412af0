"""The simulator: the real routing engine on a virtual clock, checked against Erlang C."""
