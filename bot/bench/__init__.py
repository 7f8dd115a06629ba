"""Every `python -m bot bench ...` figure, one module each."""
