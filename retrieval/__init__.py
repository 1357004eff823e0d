"""artkg.retrieval (see the project issues for its roadmap)."""
