"""`python -m assistant.cli` (the Makefile's and README's command): runs the CLI of assistant/frontends/cli/,
which the `yunying` script calls directly."""

from assistant.frontends.cli.app import main

if __name__ == "__main__":
    main()
