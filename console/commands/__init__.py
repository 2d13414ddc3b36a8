"""Headless commands that live in their own modules, each registered with one line in cli.py."""
