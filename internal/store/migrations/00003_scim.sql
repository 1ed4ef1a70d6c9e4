-- +goose Up
-- Users and groups provisioned by the identity provider over SCIM 2.0, and where a member row
-- came from: the API ('api') or a group-to-team-role mapping of SCIM groups ('scim').
CREATE TABLE scim_users (
    id           TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL UNIQUE,
    external_id  TEXT NOT NULL,
    display_name TEXT NOT NULL,
    active       INTEGER NOT NULL,
    attributes   TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE scim_groups (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL UNIQUE,
    external_id  TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE scim_group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

ALTER TABLE members ADD COLUMN source TEXT NOT NULL DEFAULT 'api';

-- +goose Down
ALTER TABLE members DROP COLUMN source;
DROP TABLE scim_group_members;
DROP TABLE scim_groups;
DROP TABLE scim_users;
