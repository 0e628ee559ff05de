"""The web edge: the views, the rendering of every frame and page, and marking read on visit."""
