-- +goose Up
-- The team an IdP group mapping (--scim-group-roles GROUP=TEAM:ROLE) gives roles in, by id:
-- bound the first time a team of that name exists, and kept after the team is deleted, so a
-- new team created later under the old name does not inherit the group's members.
CREATE TABLE idp_mapping_teams (
    group_name TEXT NOT NULL,
    team_name  TEXT NOT NULL,
    team_id    TEXT NOT NULL,
    bound_at   BIGINT NOT NULL,
    PRIMARY KEY (group_name, team_name)
);

-- +goose Down
DROP TABLE idp_mapping_teams;
