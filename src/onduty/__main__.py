"""`python -m onduty`: the same as the `onduty` command."""

from onduty.cli.main import main

if __name__ == "__main__":
    main(prog_name="onduty")
