"""``python -m wsdissect``."""
from .cli import main

main()
