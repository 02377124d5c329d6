"""Regions → submeshes, entity maps, measures and the oriented particle interface."""
