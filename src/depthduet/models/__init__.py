"""depthduet.models"""
