"""The filesystem layer: reading inputs and writing outputs.  No other module opens files."""
