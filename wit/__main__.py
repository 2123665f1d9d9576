from wit.app.cli import entry

entry()
