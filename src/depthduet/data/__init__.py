"""depthduet.data"""
