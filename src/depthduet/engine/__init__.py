"""depthduet.engine"""
