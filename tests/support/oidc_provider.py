"""A real OpenID Connect provider for the tests, built with authlib's server side on Flask.

It runs over HTTP on a local port in a thread, like HelseID or ID-porten would on the Internet:
discovery, JWKS (with key rotation), the authorization endpoint (signs in ``login_as`` at once: the
login page is not what is tested), the token endpoint (authorization code with PKCE and nonce;
client credentials; ``client_secret_basic`` or ``private_key_jwt`` client authentication; DPoP-bound
access tokens when the request carries a DPoP proof) and RP-initiated logout.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import ECKey, JWKRegistry, KeySet
from werkzeug.serving import make_server

AUDIENCE = "hdab"


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    auth_method: str  # client_secret_basic or private_key_jwt
    grant_types: tuple[str, ...]
    scope: str
    redirect_uris: tuple[str, ...] = ()
    secret: str = ""
    public_keys: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)  # added to its access tokens (e.g. org)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.secret) and secrets.compare_digest(self.secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class Provider:
    """One identity provider on ``issuer`` (http://127.0.0.1:PORT)."""

    def __init__(self, access_token_seconds: int = 300) -> None:
        self.keys: list[ECKey] = [ECKey.generate_key("P-256", private=True, auto_kid=True)]
        self.users: dict[str, dict[str, Any]] = {}
        self.login_as: str | None = None
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.used_assertions: set[str] = set()
        self.logouts: list[dict[str, str]] = []
        self.jwks_fetches = 0
        self.id_token_overrides: dict[str, Any] = {}  # to test that a bad ID token is refused
        self.forged_key: ECKey | None = None  # signs ID tokens under the published key's kid
        self.tokens_issued: list[str] = []
        self.access_token_seconds = access_token_seconds
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    # --- what a test arranges ---------------------------------------------------------------------

    def add_user(self, sub: str, **claims: Any) -> None:
        self.users[sub] = {"sub": sub, **claims}

    def add_client(self, client: Client) -> None:
        self.clients[client.client_id] = client

    def rotate(self, keep_old: bool = False) -> ECKey:
        """A new signing key; the old one is withdrawn from the JWKS unless ``keep_old``."""
        key = ECKey.generate_key("P-256", private=True, auto_kid=True)
        self.keys = [key, *self.keys] if keep_old else [key]
        return key

    @property
    def signing_key(self) -> ECKey:
        return self.keys[0]

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    # --- the provider ------------------------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("local-oidc-provider")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 300, "client_credentials": 300}
        provider = self

        class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
            CLIENT_AUTH_METHOD = "private_key_jwt"

            def get_audiences(self) -> list[str]:
                return [provider.token_endpoint, provider.issuer]

            def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
                if jti in provider.used_assertions:
                    return False
                provider.used_assertions.add(jti)
                return True

            def resolve_client_public_key(self, client: Client) -> KeySet:
                return KeySet.import_key_set(client.public_keys)

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                provider.codes[code] = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.scope,
                    user=req.user,
                    nonce=req.payload.data.get("nonce"),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                    auth_time=int(time.time()),  # noqa: TID251 (another system, its own clock)
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found is not None and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> str:
                return authorization_code.user

        class ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

        class IdToken(OpenIDCode):  # type: ignore[misc]
            def resolve_client_private_key(self, client: Client) -> ECKey:
                return provider.forged_key or provider.signing_key

            def get_client_algorithm(self, client: Client) -> str:
                return "ES256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "ES256", "kid": str(provider.signing_key.kid)}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id], **provider.id_token_overrides}

            def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
                claims = dict(super().get_authorization_code_claims(authorization_code))
                if "nonce" in provider.id_token_overrides:
                    claims["nonce"] = provider.id_token_overrides["nonce"]
                return claims

            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return False

            def generate_user_info(self, user: str, scope: str) -> UserInfo:
                return UserInfo(provider.users[user])

        server = AuthorizationServer(app, query_client=self.clients.get, save_token=lambda token, req: None)
        server.register_client_auth_method("private_key_jwt", PrivateKeyJwt())
        server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)])
        server.register_grant(ClientCredentials)
        server.register_token_generator("default", self._access_token)

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify(
                issuer=self.issuer,
                authorization_endpoint=f"{self.issuer}/authorize",
                token_endpoint=self.token_endpoint,
                jwks_uri=f"{self.issuer}/jwks",
                end_session_endpoint=f"{self.issuer}/logout",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["ES256"],
                code_challenge_methods_supported=["S256"],
                token_endpoint_auth_methods_supported=["client_secret_basic", "private_key_jwt"],
                dpop_signing_alg_values_supported=["ES256"],
            )

        @app.get("/jwks")
        def jwks() -> Any:
            self.jwks_fetches += 1
            return jsonify(keys=[k.as_dict(private=False) for k in self.keys])

        @app.get("/authorize")
        def authorize() -> Any:
            if self.login_as is None:
                return "nobody signs in", 401
            grant = server.get_consent_grant(end_user=self.login_as)
            return server.create_authorization_response(grant=grant, grant_user=self.login_as)

        @app.post("/token")
        def token() -> Any:
            return server.create_token_response()

        @app.get("/logout")
        def logout() -> Any:
            params = dict(request.args)
            jwt.decode(params["id_token_hint"], KeySet(list(self.keys)))  # a hint we issued
            self.logouts.append(params)
            target = params.get("post_logout_redirect_uri", "/")
            if "state" in params:
                target += "?" + urlencode({"state": params["state"]})
            return redirect(target)

        return app

    def _access_token(
        self,
        grant_type: str,
        client: Client,
        user: str | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        now = int(time.time())  # noqa: TID251 (another system, its own clock)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": user or client.client_id,
            "client_id": client.client_id,
            "scope": scope or "",
            "iat": now,
            "nbf": now,
            "exp": now + self.access_token_seconds,
            "jti": str(uuid.uuid4()),
            **client.claims,
        }
        token_type = "Bearer"
        proof = request.headers.get("DPoP")
        if proof:
            claims["cnf"] = {"jkt": self._proof_key_thumbprint(proof)}
            token_type = "DPoP"
        key = self.signing_key
        access_token = jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, claims, key)
        self.tokens_issued.append(access_token)
        return {
            "access_token": access_token,
            "token_type": token_type,
            "expires_in": self.access_token_seconds,
            "scope": scope or "",
        }

    def _proof_key_thumbprint(self, proof: str) -> str:
        from joserfc import jws

        header = jws.extract_compact(proof.encode()).headers()
        key = JWKRegistry.import_key(header["jwk"])
        claims = jwt.decode(proof, key).claims
        if (
            header.get("typ") != "dpop+jwt"
            or claims.get("htm") != "POST"
            or claims.get("htu") != (self.token_endpoint)
        ):
            raise ValueError("invalid DPoP proof at the token endpoint")
        return str(key.thumbprint())


def web_client(
    client_id: str,
    redirect_uri: str,
    *,
    secret: str = "",
    key: ECKey | None = None,
    scope: str = "openid profile email",
) -> Client:
    """A sign-in client (ours): client_secret_basic with ``secret``, private_key_jwt with ``key``."""
    return Client(
        client_id=client_id,
        auth_method="private_key_jwt" if key is not None else "client_secret_basic",
        grant_types=("authorization_code",),
        scope=scope,
        redirect_uris=(redirect_uri,),
        secret=secret,
        public_keys={"keys": [key.as_dict(private=False)]} if key is not None else {},
    )


def machine_client(client_id: str, key: ECKey, scope: str, organisation: str) -> Client:
    """A machine client (SSB's): client credentials, authenticated with private_key_jwt."""
    return Client(
        client_id=client_id,
        auth_method="private_key_jwt",
        grant_types=("client_credentials",),
        scope=scope,
        public_keys={"keys": [key.as_dict(private=False)]},
        claims={"org": organisation},
    )
