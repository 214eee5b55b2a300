"""depthduet.evaluation"""
