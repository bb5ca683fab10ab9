use super::*;

fn store(dir: &Path) -> AuthStore {
    AuthStore::open(dir, Lifetimes::default()).unwrap()
}

#[test]
fn a_password_is_stored_as_argon2id_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.add_user("lan.nguyen", Role::Officer, "correct horse battery")
        .unwrap();
    let file = std::fs::read_to_string(dir.path().join("users.json")).unwrap();
    assert!(file.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "{file}");
    assert!(!file.contains("correct horse"));
    let who = s.verify("lan.nguyen", "correct horse battery").unwrap();
    assert_eq!(who.role, Role::Officer);
    assert!(s.verify("lan.nguyen", "wrong").is_none());
    assert!(s.verify("nobody", "correct horse battery").is_none());
    assert!(matches!(
        s.add_user("x", Role::Viewer, "short"),
        Err(AuthError::WeakPassword)
    ));
    assert!(matches!(
        s.add_user("a b", Role::Viewer, "long enough password"),
        Err(AuthError::BadName(_))
    ));
}

#[test]
fn sessions_survive_a_restart_and_end_on_logout_disable_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    assert!(s.bootstrap(None).unwrap().is_some());
    assert!(
        s.bootstrap(None).unwrap().is_none(),
        "only on a first start"
    );
    let admin = s.users().remove(0);
    let token = s
        .start_session(Principal {
            name: admin.name.clone(),
            role: Role::Admin,
            display_key: None,
        })
        .unwrap();
    // Only the token's hash is kept.
    let file = std::fs::read_to_string(dir.path().join("sessions.json")).unwrap();
    assert!(!file.contains(&token));
    drop(s);
    let s = store(dir.path());
    let session = s.session(&token).expect("kept across a restart");
    let mut ended = s.ended();
    s.end_session(&token).unwrap();
    assert_eq!(ended.try_recv().unwrap(), session.id);
    assert!(s.session(&token).is_none());

    // A display key: exchanged for a session, revoked, the session ends.
    let (key, secret) = s.create_key("Tường 1", "admin").unwrap();
    let who = s.display(&secret).unwrap();
    assert_eq!(who.role, Role::Display);
    let t = s.start_session(who).unwrap();
    let id = s.session(&t).unwrap().id;
    s.revoke_key(&key.id).unwrap();
    assert_eq!(ended.try_recv().unwrap(), id);
    assert!(s.session(&t).is_none());
    assert!(s.display(&secret).is_none());

    // A disabled user's sessions end; a reset enables them again.
    s.add_user("officer1", Role::Officer, "a long password 1")
        .unwrap();
    let t = s
        .start_session(s.verify("officer1", "a long password 1").unwrap())
        .unwrap();
    s.disable("officer1").unwrap();
    assert!(s.session(&t).is_none());
    assert!(s.verify("officer1", "a long password 1").is_none());
    s.set_password("officer1", "another long one").unwrap();
    assert!(s.verify("officer1", "another long one").is_some());
}

#[test]
fn the_command_line_changes_reach_a_running_store() {
    let dir = tempfile::tempdir().unwrap();
    let running = store(dir.path());
    running
        .add_user("officer2", Role::Officer, "a long password 2")
        .unwrap();
    let t = running
        .start_session(running.verify("officer2", "a long password 2").unwrap())
        .unwrap();
    // Another process (the command line) disables the user; the running store looks at the
    // files once a second.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cli = store(dir.path());
    cli.disable("officer2").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1050));
    assert!(running.session(&t).is_none(), "ended by the file's change");
}

#[test]
fn idle_and_absolute_lifetimes_end_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let s = AuthStore::open(
        dir.path(),
        Lifetimes {
            // Long enough that the session's start (which writes and syncs the sessions file)
            // fits in it on a busy machine: 50 ms did not, once, in CI.
            idle: std::time::Duration::from_secs(1),
            absolute: std::time::Duration::from_secs(3600),
            display: std::time::Duration::from_secs(3600),
        },
    )
    .unwrap();
    let who = Principal {
        name: "v".into(),
        role: Role::Viewer,
        display_key: None,
    };
    let t = s.start_session(who).unwrap();
    assert!(s.session(&t).is_some());
    std::thread::sleep(std::time::Duration::from_millis(1300));
    assert!(s.session(&t).is_none(), "idle too long");
}

#[test]
fn random_secrets_differ_and_are_long() {
    let a = random_password();
    assert_eq!(a.len(), 20);
    assert_ne!(a, random_password());
}
