"""vectile.flows"""
