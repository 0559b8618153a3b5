"""vectile.cluster"""
