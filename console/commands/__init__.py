"""Headless subcommands that live in their own modules, each registered in console/cli.py."""
