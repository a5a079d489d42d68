from aimusic.cli import entry

entry()
