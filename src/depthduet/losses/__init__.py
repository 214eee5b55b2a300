"""depthduet.losses"""
