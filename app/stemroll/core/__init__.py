"""Headless core: numpy/scipy only. No Qt, no sound devices, no file formats."""
