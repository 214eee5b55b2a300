"""depthduet.recipes"""
