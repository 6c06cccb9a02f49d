import sys

from canary.judge.cli import main

sys.exit(main())
