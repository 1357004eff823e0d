"""artkg.explain (see the project issues for its roadmap)."""
