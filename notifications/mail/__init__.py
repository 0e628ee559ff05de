"""Mail: the digests, and their task for Django's task framework."""
