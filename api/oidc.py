"""Sign-in through the organisation's identity provider: OpenID Connect, with Authlib.

The authorization code flow with PKCE (RFC 7636, ``S256``), a ``state`` bound to the
browser by a short-lived cookie and a ``nonce`` bound to the ID token:

1. :meth:`OidcClient.start` reads the provider's discovery document
   (``<issuer>/.well-known/openid-configuration``), makes a fresh ``state``, ``nonce``
   and code verifier and returns the authorization URL (Authlib's ``OAuth2Session``
   computes the code challenge).
2. The provider sends the browser back to ``/auth/oidc/callback?code&state``;
   :meth:`OidcClient.finish` exchanges the code, with the verifier and the client
   secret, at the token endpoint (Authlib) and verifies the ID token with the
   provider's published keys (joserfc, the JOSE library Authlib builds on): its
   signature, ``iss`` equal to the configured issuer, ``aud`` naming this client, the
   ``nonce`` of step 1, and ``exp``/``iat``. A provider that keeps e-mail and name out
   of the ID token gives them at its userinfo endpoint, asked with the access token.

What comes out is an :class:`OidcIdentity` (issuer, ``sub``, e-mail, name): proof of
who the newcomer is, which :mod:`api.onboarding` binds their registration request to.
It opens no ledger session: only a key the ledger knows does that.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ApiError

if TYPE_CHECKING:  # imported when a sign-in uses them: a service without OIDC never does
    from authlib.integrations.requests_client import OAuth2Session
    from joserfc.jwk import KeySet

__all__ = ["OidcClient", "OidcIdentity", "OidcProvider", "OidcStart"]

_TIMEOUT = 10.0
_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


@dataclass(frozen=True)
class OidcProvider:
    """The organisation's OpenID Connect provider, as registered for this service."""

    #: the issuer URL (its discovery document is at ``<issuer>/.well-known/openid-configuration``)
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    #: the organisation whose people sign in there: their requests wait for its admins
    organisation: str
    #: the name on the sign-in button
    label: str = "your organisation's account"
    scope: str = "openid email profile"


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    username: str | None


@dataclass(frozen=True)
class OidcStart:
    """An authorization request under way: where to send the browser, and what to keep."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def _refused(message: str) -> ApiError:
    return ApiError(401, "oidc_failed", f"sign-in with the identity provider failed: {message}")


class OidcClient:
    """The relying party of one :class:`OidcProvider`. Thread-safe."""

    def __init__(self, provider: OidcProvider) -> None:
        self.provider = provider
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _get_json(self, url: str) -> dict[str, Any]:
        import httpx  # here, not at start: with Authlib and joserfc, 0.2 s of CPU a service spares

        try:
            response = httpx.get(url, timeout=_TIMEOUT, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ApiError(
                503, "oidc_unavailable", f"the identity provider did not answer at {url}"
            ) from exc
        if not isinstance(data, dict):
            raise ApiError(503, "oidc_unavailable", f"{url} gave no JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once, checked to name our issuer)."""
        with self._lock:
            if self._metadata is None:
                issuer = self.provider.issuer.rstrip("/")
                data = self._get_json(f"{issuer}/.well-known/openid-configuration")
                if data.get("issuer") != self.provider.issuer:
                    raise ApiError(
                        503,
                        "oidc_unavailable",
                        f"the discovery document names issuer {data.get('issuer')!r}, "
                        f"not {self.provider.issuer!r}",
                    )
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(data.get(name), str):
                        raise ApiError(503, "oidc_unavailable", f"the provider names no {name}")
                self._metadata = data
            return self._metadata

    def _keyset(self, *, refresh: bool) -> KeySet:
        from joserfc.jwk import KeySet

        with self._lock:
            keys = self._keys
        if keys is None or refresh:
            keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
            with self._lock:
                self._keys = keys
        return keys

    def _session(self, redirect_uri: str) -> OAuth2Session:
        from authlib.integrations.requests_client import OAuth2Session  # as httpx above

        p = self.provider
        return OAuth2Session(
            p.client_id,
            p.client_secret,
            scope=p.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def start(self, redirect_uri: str) -> OidcStart:
        """A new authorization request that returns to ``redirect_uri``."""
        from authlib.common.security import generate_token

        verifier, nonce = generate_token(48), generate_token(32)
        with self._session(redirect_uri) as session:
            url, state = session.create_authorization_url(
                self.metadata()["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
        return OidcStart(url, state, nonce, verifier)

    def finish(
        self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> OidcIdentity:
        """Exchange ``code`` and verify the ID token; raise a 401 :class:`ApiError`
        (``oidc_failed``) if anything does not check out."""
        with self._session(redirect_uri) as session:
            try:
                token = session.fetch_token(
                    self.metadata()["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    timeout=_TIMEOUT,
                )
            except Exception as exc:  # Authlib raises its OAuthError or requests' errors
                raise _refused(f"the code was not accepted ({type(exc).__name__})") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise _refused("the provider returned no ID token")
        claims = self._verified_claims(id_token, nonce)
        if "email" not in claims and isinstance(token.get("access_token"), str):
            claims = {**self._userinfo(token["access_token"], claims["sub"]), **claims}
        email = claims.get("email")
        name = claims.get("name")
        username = claims.get("preferred_username")
        return OidcIdentity(
            issuer=self.provider.issuer,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
            name=name if isinstance(name, str) else None,
            username=username if isinstance(username, str) else None,
        )

    def _userinfo(self, access_token: str, subject: object) -> dict[str, Any]:
        """The userinfo claims (OpenID Connect Core §5.3), for a provider that puts only
        ``sub`` in the ID token; ignored unless they are about the same ``sub`` (§5.3.2)."""
        url = self.metadata().get("userinfo_endpoint")
        if not isinstance(url, str):
            return {}
        import httpx

        try:
            response = httpx.get(
                url, headers={"Authorization": f"Bearer {access_token}"}, timeout=_TIMEOUT
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _refused("the userinfo endpoint did not answer") from exc
        if not isinstance(data, dict) or data.get("sub") != subject:
            raise _refused("the userinfo answer is about someone else")
        return data

    def _verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            try:
                decoded = jwt.decode(id_token, self._keyset(refresh=False), algorithms=_ALGORITHMS)
            except JoseError:  # perhaps the provider rotated its keys: fetch them once more
                decoded = jwt.decode(id_token, self._keyset(refresh=True), algorithms=_ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.provider.issuer},
                aud={"essential": True, "value": self.provider.client_id},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
                exp={"essential": True},
                iat={"essential": True},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise _refused(f"the ID token does not verify ({exc})") from exc
        return dict(decoded.claims)
