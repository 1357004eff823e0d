"""``python -m artkg.cli``."""
from artkg.cli import main

if __name__ == "__main__":
    main()
