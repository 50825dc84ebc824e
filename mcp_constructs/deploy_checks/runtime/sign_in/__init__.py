"""The sign-in path's deploy check (``userAuth: true``): its own Lambda asset, not the bot's."""
