//! The plugin driven through the SDK's fake host, call by call.

use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};
use lectern_tool::{Display, Subtopic, TeachingTool, ToolError, ToolOutput};
use serde_json::json;

use super::CheckUnderstanding;

fn question_of(output: &ToolOutput) -> (String, Option<String>) {
    match &output.display {
        Some(Display::Question(card)) => (card.prompt.clone(), card.objective_id.clone()),
        other => panic!("expected a question card, got {other:?}"),
    }
}

fn question_id(output: &ToolOutput) -> String {
    let start = output.content.find("question_id \"").unwrap() + "question_id \"".len();
    let rest = &output.content[start..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// How many questions were asked, by the stored record.
fn asked_count(env: &FakeEnv) -> usize {
    let state = env.state();
    let bank = crate::bank::parse_any(&state["bank"]).unwrap();
    crate::asked::Asked::parse(&state["asked"], bank.fingerprint, bank.len())
        .unwrap()
        .total()
}

#[test]
fn manifest_is_valid() {
    check_manifest(&CheckUnderstanding::manifest()).unwrap();
}

#[test]
fn questions_do_not_repeat_until_all_were_asked() {
    let lesson = sample_subtopic();
    let total = lesson.objectives.len() + lesson.key_points.len();
    let mut env = FakeEnv::new(lesson);
    let mut prompts = Vec::new();
    for _ in 0..total {
        let output = env
            .invoke::<CheckUnderstanding>("check_understanding", json!({}))
            .unwrap();
        prompts.push(question_of(&output).0);
    }
    let mut distinct = prompts.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), total, "{prompts:#?}");

    // The next round asks again, in other words.
    let again = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    assert!(!prompts.contains(&question_of(&again).0));
    assert_eq!(asked_count(&env), total + 1);
}

#[test]
fn the_first_question_targets_objectives_not_yet_mastered() {
    let mut env = FakeEnv::new(sample_subtopic())
        .with_mastery("inputs-outputs", 1.0, 4)
        .with_mastery("chlorophyll", 0.9, 3)
        .with_mastery("glucose-use", 0.1, 2);
    let output = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    assert_eq!(question_of(&output).1.as_deref(), Some("glucose-use"));
}

#[test]
fn focus_narrows_the_question() {
    let mut env = FakeEnv::new(sample_subtopic());
    let output = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "stomata"}))
        .unwrap();
    let (prompt, _) = question_of(&output);
    assert!(prompt.contains("carbon dioxide"), "{prompt}");

    let unmatched = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "volcanoes"}))
        .unwrap();
    assert!(
        unmatched
            .content
            .contains("Nothing in this subtopic matches \"volcanoes\"")
    );
}

#[test]
fn grading_records_progress_and_names_what_was_missed() {
    let mut env = FakeEnv::new(sample_subtopic());
    let asked = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "green leaves"}))
        .unwrap();
    let id = question_id(&asked);
    assert_eq!(id, "objective:chlorophyll");

    let partial = env
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": id, "answer": "It reflects the green light"}),
        )
        .unwrap();
    assert!(
        partial.content.contains("partly right"),
        "{}",
        partial.content
    );
    assert!(
        partial.content.contains("Missed: absorbs, red, blue"),
        "{}",
        partial.content
    );
    let Some(Display::Score(card)) = &partial.display else {
        panic!("expected a score card");
    };
    assert_eq!((card.correct, card.total), (2, 5));
    assert!(card.feedback.contains("**absorbs**"));

    let full = env
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": id,
                   "answer": "Chlorophyll absorbs red and blue light but reflects green"}),
        )
        .unwrap();
    assert!(
        full.content.contains("is right (attempt 2"),
        "{}",
        full.content
    );

    let evidence = env.evidence();
    assert_eq!(evidence.len(), 2);
    assert_eq!(evidence[0].objective_id, "chlorophyll");
    assert!((evidence[0].score - 0.4).abs() < 1e-6);
    assert!((evidence[1].score - 1.0).abs() < 1e-6);
    assert!(
        full.content
            .contains("Mastery of \"chlorophyll\" is now 0.70 over 2")
    );
}

#[test]
fn different_lessons_give_different_questions() {
    let mut other: Subtopic = sample_subtopic();
    other.title = "Fractions".into();
    other.objectives.truncate(0);
    other.key_points = vec!["A denominator counts the equal parts of a whole.".into()];
    let mut env = FakeEnv::new(other);
    let output = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    let prompt = question_of(&output).0;
    assert!(prompt.contains("denominator"), "{prompt}");
    let graded = env
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": "key-point:0", "answer": "it counts equal parts of the whole"}),
        )
        .unwrap();
    assert!(graded.content.contains("is right"), "{}", graded.content);
    // No objective to credit: nothing recorded.
    assert!(env.evidence().is_empty());
}

#[test]
fn bad_answers_and_ids_are_refused_and_change_nothing() {
    let mut env = FakeEnv::new(sample_subtopic());
    let error = env
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": "objective:nope", "answer": "x"}),
        )
        .unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(m) if m.contains("objective:nope")));
    let error = env
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": "objective:chlorophyll", "answer": "   "}),
        )
        .unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(_)));
    // Schema violations never reach the tool.
    let error = env
        .invoke::<CheckUnderstanding>("grade_answer", json!({"answer": "x", "extra": 1}))
        .unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(_)));
    assert!(env.state().is_empty());
    assert!(env.evidence().is_empty());
}

#[test]
fn an_empty_subtopic_is_a_clear_failure() {
    let mut empty = sample_subtopic();
    empty.objectives.clear();
    empty.key_points.clear();
    let mut env = FakeEnv::new(empty);
    let error = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap_err();
    assert!(matches!(error, ToolError::Failed(m) if m.contains("no objectives or key points")));
}

#[test]
fn the_question_bank_is_kept_and_rebuilt_when_unreadable() {
    let mut env = FakeEnv::new(sample_subtopic());
    let first = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    let bank = env.state()["bank"].clone();
    assert_eq!(crate::bank::parse_any(&bank).unwrap().len(), 8);
    // A damaged bank (an older plugin version, say) is rebuilt, not fatal.
    env.put_state("bank", "{\"not\": \"a bank\"}");
    let second = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    assert_ne!(question_of(&first).0, question_of(&second).0);
    assert_eq!(env.state()["bank"], bank);
}

#[test]
fn a_repeated_focus_is_served_from_the_state_with_the_same_choice() {
    let mut env = FakeEnv::new(sample_subtopic());
    let first = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "green leaves"}))
        .unwrap();
    let kept = env.state()["asked"].clone();
    assert!(kept.contains(",12:green leaves,"), "{kept}");
    let second = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "green leaves"}))
        .unwrap();
    // Both come from the focus's best matches; the second asks it again in
    // other words, as the first call would have without the kept scores.
    assert_eq!(question_id(&first), "objective:chlorophyll");
    assert_eq!(question_id(&second), "objective:chlorophyll");
    assert_ne!(question_of(&first).0, question_of(&second).0);
    // A damaged record is started afresh, not fatal.
    env.put_state("asked", "\"garbage\"");
    let third = env
        .invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "green leaves"}))
        .unwrap();
    assert_eq!(question_id(&third), "objective:chlorophyll");
    assert_eq!(asked_count(&env), 1);
    assert!(env.state()["asked"].contains(",12:green leaves,"));
}

#[test]
fn an_older_history_layout_starts_afresh() {
    let mut env = FakeEnv::new(sample_subtopic());
    env.put_state("asked", "[\"objective:chlorophyll\"]");
    env.invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    assert_eq!(asked_count(&env), 1);
}

#[test]
fn the_shuffle_continues_the_hash_of_its_prefix() {
    use lectern_tool::text::stable_hash;
    let prefix = "session-7/64/";
    assert_eq!(
        super::continue_hash(stable_hash(prefix), "objective:chlorophyll"),
        stable_hash("session-7/64/objective:chlorophyll")
    );
}

#[test]
fn an_edited_lesson_is_analysed_again_and_keeps_what_was_asked() {
    let lesson = sample_subtopic();
    let total = lesson.objectives.len() + lesson.key_points.len();
    let mut env = FakeEnv::new(lesson.clone());
    let mut asked = Vec::new();
    for _ in 0..total - 1 {
        let output = env
            .invoke::<CheckUnderstanding>("check_understanding", json!({}))
            .unwrap();
        asked.push(question_id(&output));
    }
    let never_asked: Vec<String> = crate::bank::parse_any(&env.state()["bank"])
        .unwrap()
        .questions
        .iter()
        .map(|q| q.id.to_owned())
        .filter(|id| !asked.contains(id))
        .collect();
    assert_eq!(never_asked.len(), 1);

    // The author adds a key point mid-session: the state moves to a lesson
    // with one more question, the questions asked stay asked.
    let mut edited = lesson;
    edited
        .key_points
        .push("Stomata close when the leaf is short of water.".into());
    let added = format!("key-point:{}", edited.key_points.len() - 1);
    let mut moved = FakeEnv::new(edited);
    for (key, value) in env.state() {
        moved.put_state(key, value);
    }
    let mut next = Vec::new();
    for _ in 0..2 {
        let output = moved
            .invoke::<CheckUnderstanding>("check_understanding", json!({}))
            .unwrap();
        next.push(question_id(&output));
    }
    next.sort();
    let mut expected = vec![never_asked[0].clone(), added];
    expected.sort();
    assert_eq!(next, expected);
    assert_ne!(moved.state()["bank"], env.state()["bank"]);
    assert_eq!(asked_count(&moved), total + 1);
}

#[test]
fn grades_read_back_and_the_json_of_earlier_versions_still_counts() {
    let grades = vec![
        (std::borrow::Cow::Borrowed("objective:a,b"), 1000),
        (std::borrow::Cow::Borrowed("key-point:2"), 375),
    ];
    let text = crate::write_grades(&grades);
    assert_eq!(crate::read_grades(&text).unwrap(), grades);
    assert_eq!(crate::read_grades("").unwrap(), Vec::new());
    let json =
        r#"[{"question_id":"key-point:2","share":0.5},{"question_id":"objective:a","share":1.0}]"#;
    assert_eq!(
        crate::read_grades(json).unwrap(),
        vec![
            (std::borrow::Cow::Borrowed("key-point:2"), 500),
            (std::borrow::Cow::Borrowed("objective:a"), 1000)
        ]
    );
    for bad in ["[1]", "3:abc,", "1:a,x:1,", "1:a,"] {
        assert!(crate::read_grades(bad).is_none(), "{bad}");
    }
}

#[test]
fn attempts_count_across_the_json_grades_of_earlier_versions() {
    let mut env = FakeEnv::new(sample_subtopic());
    env.invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    let id = "objective:chlorophyll";
    lectern_tool::Env::state_set(
        &mut env,
        "grades",
        &format!(r#"[{{"question_id":"{id}","share":0.5}}]"#),
    )
    .unwrap();
    let output = env
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": id, "answer": "it reflects green light"}),
        )
        .unwrap();
    assert!(output.content.contains("attempt 2"), "{}", output.content);
    let again = env
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": id, "answer": "it reflects green light"}),
        )
        .unwrap();
    assert!(again.content.contains("attempt 3"), "{}", again.content);
}

#[test]
fn a_bank_kept_by_an_earlier_version_is_rebuilt_and_keeps_what_was_asked() {
    let mut env = FakeEnv::new(sample_subtopic());
    for _ in 0..3 {
        env.invoke::<CheckUnderstanding>("check_understanding", json!({}))
            .unwrap();
    }
    let bank = env.state()["bank"].clone();
    let earlier = crate::bank::earlier_layout(&bank);
    assert!(crate::bank::parse_any(&earlier).is_some());
    env.put_state("bank", &earlier);
    env.invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    assert_eq!(env.state()["bank"], bank);
    assert_eq!(asked_count(&env), 4);
}

#[test]
fn a_bank_kept_in_the_previous_layout_is_used_as_it_is() {
    let mut current = FakeEnv::new(sample_subtopic());
    current
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    let mut upgraded = FakeEnv::new(sample_subtopic());
    for (key, value) in current.state() {
        upgraded.put_state(key, value);
    }
    let spaced = crate::bank::tests::spaced_layout(&current.state()["bank"]);
    upgraded.put_state("bank", &spaced);
    for (tool, arguments) in [
        ("check_understanding", json!({"focus": "green leaves"})),
        (
            "check_understanding",
            json!({"focus": "glucose and oxygen"}),
        ),
        ("check_understanding", json!({})),
    ] {
        let expected = current
            .invoke::<CheckUnderstanding>(tool, arguments.clone())
            .unwrap();
        let got = upgraded
            .invoke::<CheckUnderstanding>(tool, arguments)
            .unwrap();
        assert_eq!(got, expected);
        for answer in [
            "It reflects the green light",
            "plants need light, water and carbon dioxide to make glucose and oxygen",
        ] {
            let grade = json!({"question_id": question_id(&expected), "answer": answer});
            let expected = current
                .invoke::<CheckUnderstanding>("grade_answer", grade.clone())
                .unwrap();
            let got = upgraded
                .invoke::<CheckUnderstanding>("grade_answer", grade)
                .unwrap();
            assert_eq!(got, expected);
        }
    }
    assert_eq!(upgraded.state()["bank"], spaced, "not rebuilt");
    assert_eq!(upgraded.state()["asked"], current.state()["asked"]);
    assert_eq!(upgraded.state()["grades"], current.state()["grades"]);
}

#[test]
fn grading_reads_a_bank_kept_by_an_earlier_version_or_none() {
    let answer = json!({"question_id": "objective:chlorophyll",
                        "answer": "It reflects the green light"});
    let mut current = FakeEnv::new(sample_subtopic());
    current
        .invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "green leaves"}))
        .unwrap();
    let mut upgraded = FakeEnv::new(sample_subtopic());
    for (key, value) in current.state() {
        upgraded.put_state(key, value);
    }
    let bank = current.state()["bank"].clone();
    upgraded.put_state("bank", &crate::bank::earlier_layout(&bank));
    let expected = current
        .invoke::<CheckUnderstanding>("grade_answer", answer.clone())
        .unwrap();
    assert!(
        expected.content.contains("partly right"),
        "{}",
        expected.content
    );
    let got = upgraded
        .invoke::<CheckUnderstanding>("grade_answer", answer.clone())
        .unwrap();
    assert_eq!(got, expected);
    assert_eq!(upgraded.state()["bank"], bank, "the rebuilt bank is kept");

    // Nothing kept at all: the answer is graded all the same.
    let mut fresh = FakeEnv::new(sample_subtopic());
    let graded = fresh
        .invoke::<CheckUnderstanding>("grade_answer", answer)
        .unwrap();
    assert!(
        graded.content.contains("partly right"),
        "{}",
        graded.content
    );
    assert_eq!(fresh.state()["bank"], bank);
}

#[test]
fn an_answer_to_an_edited_lesson_is_graded_against_it() {
    let lesson = sample_subtopic();
    let mut env = FakeEnv::new(lesson.clone());
    env.invoke::<CheckUnderstanding>("check_understanding", json!({"focus": "green leaves"}))
        .unwrap();
    let mut edited = lesson;
    edited.objectives[1].text = "Explain why leaves are green: chlorophyll reflects green".into();
    let mut moved = FakeEnv::new(edited);
    for (key, value) in env.state() {
        moved.put_state(key, value);
    }
    let graded = moved
        .invoke::<CheckUnderstanding>(
            "grade_answer",
            json!({"question_id": "objective:chlorophyll",
                   "answer": "chlorophyll reflects the green"}),
        )
        .unwrap();
    assert!(graded.content.contains("is right"), "{}", graded.content);
    assert!(
        graded.content.contains("chlorophyll reflects green\""),
        "{}",
        graded.content
    );
    // The kept bank stays the one what was asked is counted against, for
    // the next question to carry over.
    assert_eq!(moved.state()["bank"], env.state()["bank"]);
    let next = moved
        .invoke::<CheckUnderstanding>("check_understanding", json!({}))
        .unwrap();
    assert_ne!(question_id(&next), "objective:chlorophyll");
    assert_eq!(asked_count(&moved), 2);
}

#[test]
fn hundredths_are_written_as_format_writes_them() {
    let mut values: Vec<f32> = (0..=1000).map(|n| n as f32 / 1000.0).collect();
    values.extend((0..=64).map(|n| n as f32 / 64.0));
    values.extend([
        0.005,
        0.015,
        0.125,
        0.375,
        0.625,
        0.875,
        0.994_999_9,
        0.995,
        12.345,
    ]);
    values.extend([f32::NAN, -0.5, f32::INFINITY, 1e30]);
    for value in values {
        let mut text = String::new();
        super::push_hundredths(&mut text, value);
        assert_eq!(text, format!("{value:.2}"), "{value}");
    }
}

#[test]
fn grades_are_continued_and_cut_to_the_last_ones() {
    let mut stored = String::new();
    let mut all = Vec::new();
    for n in 0..150 {
        let id = format!("key-point:{}", n % 7);
        let share = n * 37 % 1001;
        let attempt = 1 + all
            .iter()
            .rev()
            .take(super::MAX_HISTORY_ENTRIES)
            .filter(|(kept, _)| *kept == id)
            .count();
        let (got, text) = super::add_grade(&stored, &id, share).unwrap();
        assert_eq!(got, attempt, "grade {n}");
        all.push((id, share));
        let kept: Vec<_> = all
            .iter()
            .skip(all.len().saturating_sub(super::MAX_HISTORY_ENTRIES))
            .map(|(id, share)| (std::borrow::Cow::Borrowed(id.as_str()), *share))
            .collect();
        assert_eq!(text, crate::write_grades(&kept));
        stored = text;
    }
    assert_eq!(super::add_grade("1:a,x:1,", "a", 5), None);
    let json = r#"[{"question_id":"a","share":0.5}]"#;
    let (attempt, text) = super::add_grade(json, "a", 1000).unwrap();
    assert_eq!(attempt, 2);
    assert_eq!(text, "2:g2,8:1:a,1:2,,1:a,3:500,1:a,4:1000,");
    // The netstrings of earlier versions, without the counts.
    let (attempt, text) = super::add_grade("1:b,3:500,1:a,1:0,1:b,2:10,", "b", 7).unwrap();
    assert_eq!(attempt, 3);
    assert_eq!(
        text,
        "2:g2,16:1:a,1:1,1:b,1:3,,1:b,3:500,1:a,1:0,1:b,2:10,1:b,1:7,"
    );
    // Counts that do not read as counts.
    for bad in [
        "2:g2,8:1:a,1:0,,1:a,1:5,",
        "2:g2,16:1:b,1:1,1:a,1:1,,",
        "2:g2,3:1:a,",
    ] {
        assert_eq!(super::add_grade(bad, "a", 5), None, "{bad}");
    }
}
