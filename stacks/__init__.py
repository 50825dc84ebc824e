"""The app's stacks: Cognito (who may call), Runtime (the server), Gateway (the front door)."""
