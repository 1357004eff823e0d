"""artkg.models (see the project issues for its roadmap)."""
