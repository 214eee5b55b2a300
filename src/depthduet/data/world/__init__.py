"""depthduet.data.world"""
