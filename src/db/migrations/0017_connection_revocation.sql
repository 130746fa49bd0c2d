-- A connection may name its authorization server's revocation endpoint (RFC 7009): revoking a user's
-- authorization then also revokes the grant there, not only the platform's copy of the tokens.
ALTER TABLE connections ADD COLUMN revocation_url text;
