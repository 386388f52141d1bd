//! The static token file (`--token-auth-file`): `token,user,uid,"group1,group2"` per line.

use std::collections::HashMap;

use super::UserInfo;

/// Tokens read from a static token file, each naming a user.
#[derive(Debug, Clone, Default)]
pub struct StaticTokens {
    users: HashMap<String, UserInfo>,
}

impl StaticTokens {
    /// Parses the CSV text of a token file; returns the line number of the first malformed line.
    pub fn parse(text: &str) -> Result<Self, usize> {
        let mut users = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() < 3 || fields[0].is_empty() || fields[1].is_empty() {
                return Err(index + 1);
            }
            let groups = fields
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let mut user = UserInfo::authenticated(fields[1].clone(), groups);
            user.uid = fields[2].clone();
            users.insert(fields[0].clone(), user);
        }
        Ok(Self { users })
    }

    /// The user a token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<UserInfo> {
        self.users.get(token).cloned()
    }
}

/// Splits one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().expect("fields is never empty").push(c),
        }
    }
    fields.into_iter().map(|f| f.trim().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lines_name_user_uid_and_quoted_groups() {
        let tokens =
            StaticTokens::parse("# comment\nsecret1,alice,1,\"dev,ops\"\nsecret2,bob,2\n").unwrap();
        let alice = tokens.authenticate("secret1").unwrap();
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.groups, ["dev", "ops", "system:authenticated"]);
        assert_eq!(tokens.authenticate("secret2").unwrap().uid, "2");
        assert!(tokens.authenticate("nope").is_none());
    }

    #[test]
    fn a_short_line_is_reported_by_number() {
        assert_eq!(StaticTokens::parse("a,b,c\nonly-token\n").unwrap_err(), 2);
    }
}
