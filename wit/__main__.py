import sys

from wit.cli import main

sys.exit(main())
