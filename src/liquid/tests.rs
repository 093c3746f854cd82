use super::*;
use crate::LoadOptions;

/// A site in a temporary folder: config extras, posts, include files.
fn site(
    extra_config: &str,
    posts: &[(&str, &str)],
    includes: &[(&str, &str)],
) -> (tempfile::TempDir, Site) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(
        root.join("config/herald.toml"),
        format!("[site]\ntitle = \"T\"\nurl = \"https://example.org/blog\"\n{extra_config}"),
    )
    .unwrap();
    for (name, text) in posts {
        let path = root.join("posts").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    for (name, text) in includes {
        let path = root.join("_includes").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let site = Site::load(root, None, &LoadOptions::default()).unwrap();
    (dir, site)
}

fn render_one(extra_config: &str, body: &str) -> Result<Output, Vec<Problem>> {
    let text = format!("---\ntitle: Post\nfoo: bar\n---\n{body}");
    let (_dir, site) = site(extra_config, &[("2024-01-01-post.md", &text)], &[]);
    let engine = Engine::new(&site).unwrap();
    engine.render(&site.posts[0])
}

fn text(body: &str) -> String {
    render_one("", body).unwrap().text
}

#[test]
fn highlight_becomes_an_escaped_code_block_with_the_language() {
    let out = text("{% highlight ruby linenos %}\nputs \"<hi>\" if a && b\n{% endhighlight %}\n");
    assert!(
        out.contains("<pre><code class=\"language-ruby\">puts &quot;&lt;hi&gt;&quot; if a &amp;&amp; b</code></pre>"),
        "{out}"
    );
}

#[test]
fn raw_keeps_liquid_literal() {
    assert_eq!(
        text("{% raw %}{{ page.title }}{% endraw %}"),
        "{{ page.title }}"
    );
}

#[test]
fn page_site_and_config_variables_are_visible() {
    let out = render_one(
        "[posts.vars]\nBASE_PATH = \"https://example.org/base\"\n",
        "{{ page.title }} {{ page.foo }} {{ site.title }} {{ site.baseurl }} {{ BASE_PATH }} {{ site.BASE_PATH }} {{ jekyll.environment }}",
    )
    .unwrap();
    assert_eq!(
        out.text,
        "Post bar T /blog https://example.org/base https://example.org/base production"
    );
}

#[test]
fn assign_for_capture_if_and_comment_work() {
    let out = text(
        "{% assign xs = \"a|b\" | split: \"|\" %}{% for x in xs %}[{{ x }}]{% endfor %}\
         {% capture c %}cap{% endcapture %}{{ c }}{% if c == \"cap\" %}!{% endif %}{% comment %}gone{% endcomment %}",
    );
    assert_eq!(out, "[a][b]cap!");
}

#[test]
fn jsonify_and_xml_escape_work_on_whole_values() {
    assert_eq!(
        text("{{ page.tags | jsonify }} {{ \"<a & b>\" | xml_escape }}"),
        "[] &lt;a &amp; b&gt;"
    );
}

#[test]
fn url_filters_follow_the_site_url() {
    assert_eq!(
        text("{{ \"/docs/\" | relative_url }} {{ \"/docs/\" | absolute_url }}"),
        "/blog/docs/ https://example.org/blog/docs/"
    );
}

#[test]
fn an_unknown_variable_renders_as_nothing_with_a_warning_on_its_line() {
    let out = render_one(
        "",
        "line one\n{{ site.nope.deeper }}{{ nothing }}|{{ page.missing }}|\n",
    )
    .unwrap();
    assert_eq!(out.text, "line one\n||\n");
    assert_eq!(out.warnings.len(), 3, "{:?}", out.warnings);
    assert!(
        out.warnings.iter().all(|w| w.line == Some(6)),
        "{:?}",
        out.warnings
    );
}

#[test]
fn an_unknown_tag_is_left_out_and_warned_once() {
    let posts = [
        (
            "2024-01-01-a.md",
            "---\ntitle: A\n---\n{% youtube abc %}\nA\n",
        ),
        (
            "2024-01-02-b.md",
            "---\ntitle: B\n---\n{% youtube def %}\nB\n",
        ),
    ];
    let (_dir, site) = site("", &posts, &[]);
    let engine = Engine::new(&site).unwrap();
    let outs: Vec<Output> = site
        .posts
        .iter()
        .map(|p| engine.render(p).unwrap())
        .collect();
    assert!(outs.iter().all(|o| !o.text.contains("{%")));
    let warnings: Vec<_> = outs.iter().flat_map(|o| &o.warnings).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("youtube"));
    assert_eq!(warnings[0].line, Some(4));
}

#[test]
fn includes_render_from_the_folder_and_missing_ones_warn_once_per_name() {
    let posts = [
        (
            "2024-01-01-a.md",
            "---\ntitle: A\n---\n{% include note.html text=\"hi\" %}{% include gone.html %}\n",
        ),
        (
            "2024-01-02-b.md",
            "---\ntitle: B\n---\n{% include gone.html %}{% include my-logo@2x.svg %}\n",
        ),
    ];
    let includes = [
        (
            "note.html",
            "<aside>{{ include.text }} {{ site.JB.BASE_PATH }}</aside>",
        ),
        // Jekyll-Bootstrap keeps its settings nested in _config.yml.
        ("../_config.yml", "JB:\n  BASE_PATH: /jb\n"),
    ];
    let (_dir, site) = site(
        "[posts]\njekyll_config = \"_config.yml\"\n",
        &posts,
        &includes,
    );
    let engine = Engine::new(&site).unwrap();
    let a = engine.render(site.find_post("a").unwrap()).unwrap();
    let b = engine.render(site.find_post("b").unwrap()).unwrap();
    assert_eq!(a.text, "<aside>hi /jb</aside>\n");
    let warnings: Vec<String> = a
        .warnings
        .iter()
        .chain(&b.warnings)
        .map(|w| w.message.clone())
        .collect();
    assert_eq!(
        warnings.iter().filter(|w| w.contains("gone.html")).count(),
        1,
        "{warnings:?}"
    );
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.contains("my-logo@2x.svg"))
            .count(),
        1,
        "{warnings:?}"
    );
}

#[test]
fn post_url_and_link_give_post_urls_and_unknown_posts_are_errors_with_a_line() {
    let posts = [
        ("2024-01-01-first.md", "---\ntitle: First\n---\nhi\n"),
        (
            "2024-01-02-second.md",
            "---\ntitle: Second\n---\n[a]({% post_url 2024-01-01-first %}) [b]({% link _posts/2024-01-01-first.md %})\n",
        ),
        (
            "2024-01-03-third.md",
            "---\ntitle: Third\n---\nok\n\n{% post_url 1999-01-01-missing %}\n",
        ),
    ];
    let (_dir, site) = site("", &posts, &[]);
    let engine = Engine::new(&site).unwrap();
    let second = engine.render(site.find_post("second").unwrap()).unwrap();
    assert_eq!(
        second.text,
        "[a](/blog/2024/01/01/first/) [b](/blog/2024/01/01/first/)\n"
    );
    let problems = engine
        .render(site.find_post("third").unwrap())
        .err()
        .unwrap();
    assert_eq!(problems[0].line, Some(6), "{problems:?}");
    assert!(
        problems[0].message.contains("1999-01-01-missing"),
        "{problems:?}"
    );
}

#[test]
fn gists_become_links() {
    assert_eq!(
        text("{% gist parkr/931c1c8d465a04042403 %}"),
        "<a href=\"https://gist.github.com/parkr/931c1c8d465a04042403\">https://gist.github.com/parkr/931c1c8d465a04042403</a>"
    );
}

#[test]
fn a_syntax_error_is_a_problem_with_file_and_line() {
    let problems = render_one("", "fine\n\n{% if %}\n").err().unwrap();
    assert_eq!(
        problems[0].path,
        std::path::Path::new("posts/2024-01-01-post.md")
    );
    assert!(problems[0].line.is_some(), "{problems:?}");
}

#[test]
fn jekylls_array_filters_select_find_and_group() {
    let body = "---\ntitle: Post\nthings:\n  - {name: b, kind: x}\n  - {name: a, kind: z}\n  - {name: c, kind: x}\n---\n\
        {{ page.things | where_exp: \"t\", \"t.kind == 'x'\" | map: \"name\" | join: \",\" }}|\
        {% assign found = page.things | find: \"kind\", \"z\" %}{{ found.name }}|\
        {% assign found = page.things | find_exp: \"t\", \"t.name == 'c'\" %}{{ found.kind }}|\
        {% assign groups = page.things | group_by: \"kind\" %}{% for g in groups %}{{ g.name }}={{ g.size }};{% endfor %}|\
        {% assign groups = page.things | group_by_exp: \"t\", \"t.name | upcase\" %}{{ groups | map: \"name\" | join: \"\" }}|\
        {{ \"42px\" | to_integer | plus: 1 }}";
    let (_dir, site) = site("", &[("2024-01-01-post.md", body)], &[]);
    let out = Engine::new(&site).unwrap().render(&site.posts[0]).unwrap();
    assert_eq!(out.text, "b,c|a|x|x=2;z=1;|BAC|43", "{:?}", out.warnings);
}

/// Renders post `a` of a site with these includes and a Jekyll config.
fn with_includes(body: &str, includes: &[(&str, &str)]) -> Result<Output, Vec<Problem>> {
    let text = format!("---\ntitle: A\nkind: note\n---\n{body}");
    let mut files = includes.to_vec();
    files.push(("../_config.yml", "JB:\n  BASE_PATH: /jb\n"));
    let (_dir, site) = site(
        "[posts]\njekyll_config = \"_config.yml\"\n",
        &[("2024-01-01-a.md", &text)],
        &files,
    );
    Engine::new(&site).unwrap().render(&site.posts[0])
}

#[test]
fn jekyll_bootstraps_setup_include_assigns_for_the_page() {
    // As in Jekyll-Bootstrap: a sub-folder, a bare nested include, and
    // assigns the page relies on after the include (GitHub Pages is `safe`).
    let setup = "{% capture jbcache %}{% if site.JB.setup.provider == \"custom\" %}{% include custom/setup %}\
        {% else %}{% if site.safe and site.JB.BASE_PATH and site.JB.BASE_PATH != '' %}\
        {% assign BASE_PATH = site.JB.BASE_PATH %}{% else %}{% assign BASE_PATH = nil %}{% endif %}\
        {% endif %}{% endcapture %}{% assign jbcache = nil %}";
    let out = with_includes(
        "{% include JB/setup %}[x]({{ BASE_PATH }}/x.html)",
        &[("JB/setup", setup), ("custom/setup", "")],
    )
    .unwrap();
    assert_eq!(out.text, "[x](/jb/x.html)");
    // `site.JB.setup` is set by no one: the theme's test of it is no mistake of the post's.
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn an_undefined_variable_warns_when_the_post_itself_names_it() {
    let out = with_includes(
        "{% include note %}{{ page.nothing }}",
        &[(
            "note",
            "{% if site.unset.key %}set{% endif %}{{ include.none }}",
        )],
    )
    .unwrap();
    let messages: Vec<&str> = out.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        messages,
        ["Liquid: `page.nothing` is not defined; it renders as nothing"]
    );
}

#[test]
fn posts_whose_liquid_is_one_text_each_render_their_own_page_and_prose() {
    // Folded, the three posts' Liquid is one text, parsed once and kept;
    // the include is parsed once and kept too. Each post must still get
    // its own title, parameter and prose.
    let post = |n: usize| {
        (
            format!("2024-01-0{n}-p{n}.md"),
            format!(
                "---\ntitle: Post {n}\n---\n{{% include note.html text=page.title %}}\n\
                 Prose of post {n}, long enough to be folded out of Liquid's way.\n"
            ),
        )
    };
    let mut posts: Vec<(String, String)> = (1..=3).map(post).collect();
    // A refused include is refused for every post that uses it, not only the first.
    for n in 4..=5 {
        posts.push((
            format!("2024-01-0{n}-r{n}.md"),
            format!("---\ntitle: R{n}\n---\n{{% include deep.html %}}\n"),
        ));
    }
    let posts: Vec<(&str, &str)> = posts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let deep = "{% if true %}".repeat(5000) + &"{% endif %}".repeat(5000);
    let includes = [
        ("note.html", "<aside>{{ include.text }}</aside>"),
        ("deep.html", deep.as_str()),
    ];
    let (_dir, site) = site("", &posts, &includes);
    let engine = Engine::new(&site).unwrap();
    for round in 0..2 {
        for n in 1..=3 {
            let post = site.find_post(&format!("p{n}")).unwrap();
            assert!(fold::fold(&post.body().unwrap()).is_some());
            let out = engine.render(post).unwrap();
            assert_eq!(
                out.text,
                format!(
                    "<aside>Post {n}</aside>\nProse of post {n}, long enough to be folded out of Liquid's way.\n"
                ),
                "round {round}"
            );
        }
        for n in 4..=5 {
            let Err(problems) = engine.render(site.find_post(&format!("r{n}")).unwrap()) else {
                panic!("round {round}: r{n} rendered");
            };
            assert!(
                problems[0].message.contains("nested more than"),
                "round {round}: {problems:?}"
            );
        }
    }
    // Two texts kept, each met more than once: the three posts' one, and
    // the refused posts' one.
    let kept = engine.read_parser().kept.lock().unwrap().parsed.len();
    assert_eq!(kept, 2);
}

#[test]
fn include_names_may_be_built_with_output_tags_and_take_parameters() {
    let out = with_includes(
        "{% include {{ page.kind }}.html %}|{% include sub/x.html a=page.title b=\"two words\" %}",
        &[
            ("note.html", "N"),
            (
                "sub/x.html",
                "{{ include.a }}-{{ include.b }}{% include sub/y.html c=include.a %}",
            ),
            ("sub/y.html", "({{ include.c }})"),
        ],
    )
    .unwrap();
    assert_eq!(out.text, "N|A-two words(A)");
}

#[test]
fn an_include_that_includes_itself_is_an_error_with_a_line() {
    let problems = match with_includes(
        "\n\n{% include loop.html %}\n",
        &[("loop.html", "x{% include loop.html %}")],
    ) {
        Ok(out) => panic!("rendered: {}", out.text.len()),
        Err(problems) => problems,
    };
    assert_eq!(problems[0].line, Some(7), "{problems:?}");
    assert!(problems[0].message.contains("loop.html"), "{problems:?}");
    assert!(problems[0].message.contains("deeper"), "{problems:?}");
}

#[test]
fn liquid_sees_only_the_span_from_the_first_tag_to_the_last() {
    let body = "intro\n\nlead {%- if true -%}\n\n yes \n\n{%- endif -%}\n\n tail { x } }}\n";
    let span = liquid_span(body);
    assert_eq!(
        &body[span.clone()],
        "lead {%- if true -%}\n\n yes \n\n{%- endif -%}\n\n tail { x } }}\n"
    );
    assert_eq!(liquid_span("no tags here"), 0..0);
    // An opener after the last closer keeps the rest in the span, so Liquid still sees it.
    let open = "a\n\n{{ x }} then {% if";
    assert_eq!(&open[liquid_span(open)], "a\n\n{{ x }} then {% if");
}

#[test]
fn text_around_the_liquid_span_is_kept_and_whitespace_control_still_trims() {
    let body = "first line\n\nlead   {%- if true -%}\n\n yes \n\n{%- endif -%}  \n\nlast line\n";
    assert_eq!(text(body), "first line\n\nleadyeslast line\n");
}

#[test]
fn error_lines_count_the_text_before_the_liquid_span() {
    let problems = render_one("", "one\ntwo\nthree\n\n{% if %}\n")
        .err()
        .unwrap();
    // Front matter is 4 lines, so the body's fifth line is the file's ninth.
    assert_eq!(problems[0].line, Some(9), "{problems:?}");
}

/// Prose long enough to be folded away (see `fold`).
const PROSE: &str =
    "Long prose, with *Markdown* and a [link](https://example.org/x),\nover two lines of the post.";

#[test]
fn long_prose_is_folded_out_of_the_parse_and_put_back() {
    let body = format!(
        "{PROSE}\n{{% if true -%}}\n  {PROSE}  \n{{%- endif %}}\n{{{{ page.title }}}} {PROSE}"
    );
    let folded = fold::fold(&body).expect("prose between pass-through tags is folded");
    assert!(!folded.text.contains("Markdown"), "{}", folded.text);
    assert_eq!(
        folded.text.matches('\n').count(),
        body.matches('\n').count() - 3,
        "a placeholder is one line, whatever the stretch's lines"
    );
    assert_eq!(text(&body), format!("{PROSE}\n{PROSE}\nPost {PROSE}"));
}

#[test]
fn messages_about_a_folded_post_name_the_file_s_lines() {
    let prose = format!("{PROSE}\n").repeat(5);
    let config = "[posts]\nincludes = \"_includes\"";
    let warnings = |body: &str| {
        let out = render_one(config, body).unwrap();
        out.warnings
            .iter()
            .map(|w| (w.line, w.message.clone()))
            .collect::<Vec<_>>()
    };
    let line_of = |lines: &[(Option<usize>, String)], needle: &str| {
        lines
            .iter()
            .find(|(_, m)| m.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {lines:?}"))
            .0
    };
    // Rendered folded: the messages find their lines in the post's text.
    // Front matter is 4 lines, each PROSE 2.
    let body = format!(
        "{{% include JB/setup %}}\n{prose}{{{{ page.nope }}}}\n{prose}{{% include gone.html %}}\n"
    );
    assert!(fold::fold(&body).is_some());
    let lines = warnings(&body);
    assert_eq!(
        line_of(&lines, "page.nope"),
        Some(4 + 1 + 1 + 10),
        "{lines:?}"
    );
    assert_eq!(
        line_of(&lines, "gone.html"),
        Some(4 + 1 + 1 + 20 + 1),
        "{lines:?}"
    );
    // An unknown filter stops the folded parse; the whole text names it.
    let body = format!("{{% include JB/setup %}}\n{prose}{{{{ page.title | shout }}}}\n");
    let lines = warnings(&body);
    assert_eq!(line_of(&lines, "shout"), Some(4 + 1 + 1 + 10), "{lines:?}");
    // A stray tag alone on the post's last line, after a line that holds
    // the same tag: pest quotes `3 | {% endfor %}`, and line 3 is named,
    // not the first line holding that text (found by proptest).
    let body = format!("{{% for i in (1..3) %}}{{{{ i }}}}{{% endfor %}}\n\n{{% endfor %}}{PROSE}");
    let lines = warnings(&body);
    assert_eq!(line_of(&lines, "endfor"), Some(4 + 3), "{lines:?}");
}

#[test]
fn posts_whose_tags_read_their_text_are_parsed_whole() {
    for tag in [
        "{% capture x %}",
        "{% highlight ruby %}",
        "{% liquid echo 1 %}",
        "{% unknown_plugin %}",
        "{% include a.html alt=\"50%} off\" %}",
        "{{ \"}}\" }}",
        "{% if true ",
    ] {
        let body = format!("{PROSE}\n{tag}\n{PROSE}");
        assert!(fold::fold(&body).is_none(), "{tag}");
    }
}

proptest::proptest! {
    /// The byte scans find the span that plain string searches find.
    #[test]
    fn the_liquid_span_is_found_by_bytes_as_by_strings(
        body in "[{}%a \n]{0,40}"
    ) {
        let by_strings = || {
            let first = [body.find("{{"), body.find("{%")].into_iter().flatten().min()?;
            let start = body[..first].trim_end().rfind('\n').map_or(0, |i| i + 1);
            let last_open = [body.rfind("{{"), body.rfind("{%")].into_iter().flatten().max();
            let last_close = [body.rfind("}}"), body.rfind("%}")].into_iter().flatten().max();
            let end = match (last_open, last_close) {
                (Some(open), Some(close)) if close > open => close + 2,
                _ => body.len(),
            };
            Some(start..body.len() - body[end..].trim_start().len())
        };
        proptest::prop_assert_eq!(liquid_span(&body), by_strings().unwrap_or(0..0));
    }

    /// Folded or whole, a post renders to the same text: prose of every
    /// length around tags that repeat, skip, trim and quote it.
    #[test]
    fn folding_never_changes_the_output(parts in proptest::collection::vec(0usize..18, 1..14)) {
        const PIECES: &[&str] = &[
            PROSE, " short ", "\n\n", "  \t", "{% if true %}", "{% if false %}", "{% endif %}",
            "{%- if true -%}", "{% for i in (1..3) %}{{ i }}", "{% endfor %}", "{{- page.title -}}",
            "{% raw %}", "{% endraw %}", "{% assign t = page.title %}{{ t }}",
            "{{ page.nope }}", "{{ page.title | shout }}", "{% include gone.html %}", "{% nosuchtag %}",
        ];
        let body: String = parts.iter().map(|&i| PIECES[i]).collect();
        let (_dir, site) = site("", &[("2024-01-01-post.md", "---\ntitle: Post\n---\nx")], &[]);
        let post = &site.posts[0];
        // Each its own engine: warnings given once would not come twice.
        let whole = Engine::new(&site).unwrap().render_guarded(post, &body, None);
        let folded = Engine::new(&site).unwrap().render_text(post, &body);
        let shown = |out: Result<Output, Vec<Problem>>| match out {
            Ok(out) => Ok((out.text, format!("{:?}", out.warnings))),
            // Errors come from the whole text either way (their lines from
            // the span Liquid sees, which `render_guarded` is not given).
            Err(problems) => Err(problems.len()),
        };
        proptest::prop_assert_eq!(shown(whole), shown(folded));
    }
}

#[test]
fn site_posts_is_there_for_every_text_that_may_read_it() {
    let posts = [
        (
            "2024-01-01-first.md",
            "---\ntitle: First\n---\n{% for p in site.posts %}[{{ p.title }}]{% endfor %}",
        ),
        (
            "2024-01-02-second.md",
            "---\ntitle: Second\n---\n{% assign s = site %}{{ s.posts.size }}",
        ),
        (
            "2024-01-03-third.md",
            "---\ntitle: Third\n---\n{% include list.html %}",
        ),
        (
            "2024-01-04-fourth.md",
            "---\ntitle: Fourth\n---\n{{ site.title }}",
        ),
    ];
    let (_dir, site) = site("", &posts, &[("list.html", "{{ site.posts | size }}")]);
    let engine = Engine::new(&site).unwrap();
    let out: Vec<String> = site
        .posts
        .iter()
        .map(|p| engine.render(p).unwrap().text)
        .collect();
    let titles = |s: &str| s.matches('[').count();
    assert!(out.iter().any(|o| titles(o) == 4), "{out:?}");
    assert!(out.contains(&"4".to_string()), "{out:?}");
    assert!(out.contains(&"T".to_string()), "{out:?}");
    assert!(!globals::reads_site_posts(
        "{{ site.title }} and {% include x.html %}"
    ));
    assert!(globals::reads_site_posts("{{ site | jsonify }}"));
    assert!(globals::reads_site_posts("{% for p in paginator.posts %}"));
}

#[test]
fn links_to_posts_finds_post_url_and_link_tags_only() {
    for text in [
        "{% post_url 2024-01-01-a %}",
        "x {%- link _posts/a.md -%} y",
        "{%link a.md%}",
        "an unclosed {% tag",
    ] {
        assert!(globals::links_to_posts(text), "{text}");
    }
    for text in [
        "a [link](https://e.org) and <link rel=x>",
        "{{ link }} {% linked %} {% include link.html %}",
        "{% assign post_urls = 1 %}",
    ] {
        assert!(!globals::links_to_posts(text), "{text}");
    }
}

#[test]
fn an_output_liquid_cannot_parse_is_read_as_jekylls_lax_mode_reads_it() {
    // andrewbolster.github.io: a prompt template written out in a post.
    let out = render_one(
        "",
        "Input: {{ User Input }}, done {{- \"a\" | upcase x -}}!\n",
    )
    .unwrap();
    assert_eq!(out.text, "Input: , donea!\n");
    let messages: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        messages.iter().any(|m| m.contains(":5:")
            && m.contains("`{{ User Input }}` is not valid Liquid; read as `{{ User }}`")),
        "{messages:?}"
    );
    // The first value is a string; with none, nothing is left.
    assert_eq!(text("a {{ 'x' 'y' }} b"), "a x b");
    assert_eq!(text("a {{ | x }} b"), "a  b");
}

#[test]
fn a_tag_written_inside_an_outputs_string_opens_no_tag() {
    // airekans.github.com shows Jekyll's highlight tag so.
    let out = text("{{ \"{% highlight ruby linenos \" }}%}\ncode\n{{ \"{% endhighlight \" }}%}\n");
    assert_eq!(
        out,
        "{% highlight ruby linenos %}\ncode\n{% endhighlight %}\n"
    );
}

/// Threads making names lenient at once, as posts rendered side by side
/// do: once `lenient` returns, the parser in place knows the name.
#[test]
fn a_name_made_lenient_is_known_to_the_parser_whatever_other_threads_add() {
    let (_dir, site) = site(
        "",
        &[("2024-01-01-post.md", "---\ntitle: P\n---\nx\n")],
        &[],
    );
    let engine = Engine::new(&site).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let engine = &engine;
            scope.spawn(move || {
                for i in 0..60 {
                    let name = format!("plugin{}", (i * 7 + thread * 13) % 60);
                    engine.lenient(Unknown::Tag, &name).unwrap();
                    let parsed = engine.read_parser().parse(&format!("{{% {name} a, b %}}"));
                    assert!(parsed.is_ok(), "{name} unknown after it was made lenient");
                }
            });
        }
    });
}

#[test]
fn a_plugin_tag_whose_arguments_liquid_cannot_parse_is_left_out_too() {
    // An Octopress blog (bbatsov's): 19 of its 131 posts were refused
    // with "expected Value, Range" and no tag named.
    let out = render_one(
        "",
        "a\n{% img /images/x.png %}\n\
         {% blockquote Eric S. Raymond, How to Become a Hacker %}\nq\n{% endblockquote %}\n\
         {% blockquote Joshua Bloch, author of \"Effective Java\" and Java's core %}\nr\n{% endblockquote %}\n\
         they're {{ page.title }}\n",
    )
    .unwrap();
    assert_eq!(out.text, "a\n\n\nq\n\n\nr\n\nthey're Post\n");
    let messages: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains(":6:") && m.contains("unknown tag `{% img %}`")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("`{% blockquote %}`")),
        "{messages:?}"
    );
    // A tag herald knows, written wrong, is still an error.
    assert!(render_one("", "{% assign / x %}\n").is_err());
}

#[test]
fn join_takes_any_input_as_ruby_liquid_does() {
    assert_eq!(text("{{ 'Faculty' | join: ', ' }}"), "Faculty");
    assert_eq!(text("{{ nothing | join: ', ' }}"), "");
    assert_eq!(
        text("{% assign a = 'x,y' | split: ',' %}{{ a | join }} {{ a | join: '+' }}"),
        "x y x+y"
    );
}

#[test]
fn site_data_holds_the_data_folders_files() {
    // bair.berkeley.edu's graduates posts list `site.data.grads2026.people`.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, text) in [
        (
            "config/herald.toml",
            "[site]\ntitle = \"T\"\nurl = \"https://example.org\"\n[posts]\njekyll_config = \"_config.yml\"\n",
        ),
        ("_config.yml", "title: T\n"),
        (
            "_data/grads.yaml",
            "people:\n  - name: Ana\n    jobs: Faculty\n  - name: Bo\n",
        ),
        ("_data/team/leads.json", "[{\"name\": \"Cy\"}]"),
        ("_data/rooms.csv", "room,seats\nA,10\nB,20\n"),
        (
            "posts/2024-01-01-post.md",
            "---\ntitle: P\n---\n{% for p in site.data.grads.people %}{{ p.name }}:{{ p.jobs | join: ', ' }};{% endfor %}\
             {{ site.data.team.leads[0].name }} {{ site.data.rooms[1].seats }}\n",
        ),
    ] {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    let site = Site::load(root, None, &LoadOptions::default()).unwrap();
    let engine = Engine::new(&site).unwrap();
    assert_eq!(
        engine.render(&site.posts[0]).unwrap().text,
        "Ana:Faculty;Bo:;Cy 20\n"
    );

    std::fs::write(root.join("_data/broken.yml"), "a: [1\n").unwrap();
    let Err(e) = Engine::new(&site) else {
        panic!("a data file that is not YAML is an error")
    };
    assert!(e.to_string().contains("_data/broken.yml"), "{e}");
}

#[test]
fn site_posts_items_carry_their_front_matter_and_nil_for_what_they_lack() {
    // A post series, as Jekyll blogs list one: only some posts have `series`.
    let (_dir, site) = site(
        "",
        &[
            (
                "2024-01-01-one.md",
                "---\ntitle: One\nseries: rust\n---\n\
                 {% for p in site.posts %}{% if p.series == page.series %}[{{ p.title }}]{% endif %}\
                 {{ p.subtitle }}{% endfor %}\n",
            ),
            ("2024-01-02-two.md", "---\ntitle: Two\n---\nx\n"),
            (
                "2024-01-03-three.md",
                "---\ntitle: Three\nseries: rust\n---\ny\n",
            ),
        ],
        &[],
    );
    let engine = Engine::new(&site).unwrap();
    let one = site.posts.iter().find(|p| p.title == "One").unwrap();
    let out = engine.render(one).unwrap();
    assert_eq!(out.text, "[Three][One]\n");
    // Some posts have `series`: no warning for the others'. No post has
    // `subtitle`: nil, as in Jekyll, with the usual warning.
    assert!(
        !out.warnings.iter().any(|w| w.message.contains("p.series")),
        "{:?}",
        out.warnings
    );
    assert!(
        out.warnings
            .iter()
            .any(|w| w.message.contains("`p.subtitle` is not defined")),
        "{:?}",
        out.warnings
    );
}
