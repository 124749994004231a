"""Baseline applications the shop is measured against, each serving the same bytes."""
