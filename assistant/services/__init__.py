"""Services: the composition root and the team's lasting state (conversations, progress, gaps), shared
by every front end. Front ends import from here; nothing here imports a front end."""
