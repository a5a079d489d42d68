import sys

from aimusic.cli import main

sys.exit(main())
