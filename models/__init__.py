"""vectile.models"""
