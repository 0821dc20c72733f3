-- Issue 15: a bastion for server-side agentless targets. `jump` is
-- `user@host:port` of the jump host the server's ssh goes through (the
-- same credential; the bastion's host key pinned in ssh_host_keys like the
-- target's), NULL for a direct connection. Kept statement for statement
-- equal between sqlite/ and postgres/.
ALTER TABLE agentless_targets ADD COLUMN jump TEXT;
