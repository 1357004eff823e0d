"""``python -m artkg.cli``."""
from artkg.cli import main

main()
