"""vectile.tiling"""
