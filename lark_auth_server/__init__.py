"""The authorization server behind "sign in with Feishu/Lark" (identity-contract.md).

OAuth 2.0 authorization code + PKCE and rotating refresh tokens (Authlib's grants), access
tokens as RS256 JWTs (joserfc), sign-in delegated to Feishu's own OAuth, the user's Lark tokens
kept in `lark_user_store`. One framework-free core (`core.AuthServer.handle`) serves both the
local process (`python -m lark_auth_server`, ASGI under uvicorn) and the Lambda
(`lark_auth_server.aws_lambda.handler`, payload format 2.0).
"""
