//! The sanitiser's promises, case by case and as properties.

use super::*;

fn base() -> Url {
    Url::parse("https://example.org/blog/2024/01/05/post/").unwrap()
}

#[test]
fn relative_urls_become_absolute() {
    let html = portable(
        r#"<a href="../other/">x</a><img src="/img/a.png" srcset="a.png 1x, /b.png 2x"><video poster="p.jpg"></video>"#,
        &base(),
    );
    assert!(
        html.contains(r#"href="https://example.org/blog/2024/01/05/other/""#),
        "{html}"
    );
    assert!(
        html.contains(r#"src="https://example.org/img/a.png""#),
        "{html}"
    );
    assert!(html.contains(r#"srcset="https://example.org/blog/2024/01/05/post/a.png 1x, https://example.org/b.png 2x""#), "{html}");
    assert!(
        html.contains(r#"poster="https://example.org/blog/2024/01/05/post/p.jpg""#),
        "{html}"
    );
}

#[test]
fn fragments_and_mailto_survive() {
    let html = portable(
        r##"<a href="#fn1">1</a><a href="mailto:a@b.org">m</a>"##,
        &base(),
    );
    assert!(
        html.contains("https://example.org/blog/2024/01/05/post/#fn1"),
        "{html}"
    );
    assert!(html.contains(r#"href="mailto:a@b.org""#), "{html}");
}

#[test]
fn unsafe_elements_and_handlers_are_removed() {
    let html = portable(
        r#"<p onclick="x()">a</p><script>alert(1)</script><style>p{}</style><form><input></form><object></object><a href="javascript:x()">j</a>"#,
        &base(),
    );
    assert_eq!(html, "<p>a</p><a>j</a>");
}

#[test]
fn an_iframe_becomes_a_link() {
    let html = portable(
        r#"<iframe src="https://www.youtube.com/embed/x" title="Talk"></iframe>"#,
        &base(),
    );
    assert_eq!(
        html,
        r#"<a href="https://www.youtube.com/embed/x">Talk</a>"#
    );
}

#[test]
fn styles_keep_only_what_feed_readers_keep() {
    assert_eq!(
        portable_style("padding:8px 0 2px;text-align:center;background:rgba(240,0,0,0.1)")
            .as_deref(),
        Some("padding: 8px 0 2px; text-align: center")
    );
    assert_eq!(
        portable_style("position: absolute; background: url(x.png)"),
        None
    );
    let html = portable(
        r#"<span style="margin:0 6px;font-size:0.75em;vertical-align:top">x</span>"#,
        &base(),
    );
    assert!(
        html.contains(r#"style="margin: 0 6px; font-size: 0.75em; vertical-align: top""#),
        "{html}"
    );
}

#[test]
fn control_characters_are_dropped_for_xml() {
    assert_eq!(xml_safe("a\u{0}b\u{1b}c\td"), "abc\td");
    assert_eq!(xml_safe("a\u{7f}b\u{fffe}c\u{ffff}d\r\n"), "abcd\r\n");
    assert!(matches!(xml_safe("plain"), std::borrow::Cow::Borrowed(_)));
    // Fullwidth forms share U+FFFE's first byte and are kept as they are.
    assert!(matches!(
        xml_safe("ＡＢ（中文）\u{f8ff}"),
        std::borrow::Cow::Borrowed(_)
    ));
}

/// Links a browser would follow to script or data, written the ways that
/// fooled the old deny-list (and some more).
const HOSTILE_URLS: &[&str] = &[
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "\u{1}javascript:alert(1)",
    " \u{1f}javascript:alert(1)",
    "java&#9;script:alert(1)",
    "java&Tab;script:alert(1)",
    "&#106;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "&#x6A;&#x61;vascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "livescript:alert(1)",
];

#[test]
fn hostile_urls_are_dropped_in_every_url_attribute() {
    for url in HOSTILE_URLS {
        let attribute = url.replace('"', "&quot;");
        let html = format!(
            r#"<a href="{attribute}">a</a><img src="{attribute}" srcset="ok.png 1x, {attribute} 2x"><video poster="{attribute}" src="{attribute}"></video><blockquote cite="{attribute}">q</blockquote><iframe src="{attribute}"></iframe><svg><a xlink:href="{attribute}"><text>s</text></a></svg><form action="{attribute}"><button formaction="{attribute}">b</button></form><math href="{attribute}"><mi>x</mi></math>"#
        );
        let out = portable(&html, &base());
        assert_eq!(
            active_content(&out),
            Vec::<String>::new(),
            "{url:?} gave {out}"
        );
        assert!(
            out.contains(r#"srcset="https://example.org/blog/2024/01/05/post/ok.png 1x""#),
            "the safe srcset entry stays: {out}"
        );
    }
}

#[test]
fn handlers_and_unsafe_styles_are_dropped() {
    let out = portable(
        r#"<p onclick="x()" onmouseover=y style="color: red; background: url(javascript:alert(1))">a</p><img src=a.png onerror=alert(1)><div style="behavior: url(x.htc); width: expression(alert(1))">d</div>"#,
        &base(),
    );
    assert_eq!(
        out,
        r#"<p style="color: red">a</p><img src="https://example.org/blog/2024/01/05/post/a.png"><div>d</div>"#
    );
}

#[test]
fn what_readers_need_is_kept() {
    let html = r##"<h2 id="intro">Intro</h2><p>A<sup id="fnref:1"><a href="#fn:1" class="footnote" rel="footnote" role="doc-noteref">1</a></sup> <abbr title="HyperText">HTML</abbr> <del>old</del><ins>new</ins> H<sub>2</sub>O</p><figure><img src="a.png" alt="A" width="10" height="20"><figcaption>Cap</figcaption></figure><details open><summary>More</summary><p>x</p></details><pre><code class="language-rust">fn main() {}</code></pre><table><thead><tr><th scope="col">h</th></tr></thead><tbody><tr><td colspan="2">d</td></tr></tbody></table><math display="block"><mfrac><mi>a</mi><mn>2</mn></mfrac></math><div class="footnotes" role="doc-endnotes"><ol><li id="fn:1"><p>Note <a href="#fnref:1" class="reversefootnote" role="doc-backlink">↩</a></p></li></ol></div>"##;
    let out = portable(html, &base());
    for kept in [
        r#"<h2 id="intro">"#,
        r#"<sup id="fnref:1"><a href="https://example.org/blog/2024/01/05/post/#fn:1" class="footnote" rel="footnote" role="doc-noteref">1</a></sup>"#,
        r#"<abbr title="HyperText">HTML</abbr>"#,
        "<del>old</del><ins>new</ins> H<sub>2</sub>O",
        "<figcaption>Cap</figcaption>",
        "<details open=\"\"><summary>More</summary>",
        r#"<code class="language-rust">fn main() {}</code>"#,
        r#"<th scope="col">h</th>"#,
        r#"<td colspan="2">d</td>"#,
        r#"<math display="block"><mfrac><mi>a</mi><mn>2</mn></mfrac></math>"#,
        r#"<li id="fn:1">"#,
        r#"<a href="https://example.org/blog/2024/01/05/post/#fnref:1" class="reversefootnote" role="doc-backlink">↩</a>"#,
    ] {
        assert!(out.contains(kept), "{kept} is missing from {out}");
    }
}

#[test]
fn broken_markup_comes_out_as_a_browser_reads_it() {
    assert_eq!(
        portable(r#"<p><a name="x"/>Text</p><p>after</a> more</p>"#, &base()),
        r#"<p><a name="x">Text</a></p><p><a name="x">after</a> more</p>"#
    );
    assert_eq!(
        portable("<p>stray</a> <b>bold <i>both</b> italic</i>", &base()),
        "<p>stray <b>bold <i>both</i></b><i> italic</i></p>"
    );
    assert_eq!(
        portable("<ul><li>a<li>b</ul><p>x", &base()),
        "<ul><li>a</li><li>b</li></ul><p>x</p>"
    );
}

#[test]
fn an_iframe_url_is_escaped_once() {
    let out = portable(
        r#"<iframe src="https://www.youtube.com/embed/x?a=1&amp;b=2" title="A &amp; B"></iframe>"#,
        &base(),
    );
    assert_eq!(
        out,
        r#"<a href="https://www.youtube.com/embed/x?a=1&amp;b=2">A &amp; B</a>"#
    );
    let inside_a_paragraph = portable(r#"<p>See <iframe src="/v?a=1&b=2"></iframe></p>"#, &base());
    assert_eq!(
        inside_a_paragraph,
        r#"<p>See <a href="https://example.org/v?a=1&amp;b=2">https://example.org/v?a=1&amp;b=2</a></p>"#
    );
}

#[test]
fn a_srcset_url_ending_in_a_comma_keeps_it() {
    let html = portable("<img srcset=\"A,\u{1} 2x\">", &base());
    assert_eq!(
        html,
        r#"<img srcset="https://example.org/blog/2024/01/05/post/A%2C 2x">"#
    );
}

#[test]
fn srcset_candidates_are_split_as_browsers_split_them() {
    let out = absolute_srcset(
        &base(),
        "https://cdn.example/w_100,h_100/a.png 1x,b.png 2x , javascript:x 3x,, c.png, d.png script:x 4x",
    );
    assert_eq!(
        out.as_deref(),
        Some(
            "https://cdn.example/w_100,h_100/a.png 1x, https://example.org/blog/2024/01/05/post/b.png 2x, https://example.org/blog/2024/01/05/post/c.png"
        )
    );
    assert_eq!(absolute_srcset(&base(), "javascript:x 1x"), None);
}

#[test]
fn nesting_past_the_bound_is_flattened_and_its_text_kept() {
    for n in [MAX_DEPTH + 5, 20_000] {
        let html = format!(
            "{}deep{}",
            "<blockquote>".repeat(n),
            "</blockquote>".repeat(n)
        );
        let out = portable(&html, &base());
        assert_eq!(out.matches("<blockquote>").count(), MAX_DEPTH, "at {n}");
        assert!(out.contains("deep"));
    }
    let shallow = format!(
        "{}x{}",
        "<div>".repeat(MAX_DEPTH),
        "</div>".repeat(MAX_DEPTH)
    );
    assert_eq!(portable(&shallow, &base()), shallow);
}

#[test]
fn titles_become_plain_text() {
    assert_eq!(plain_text("Tom &amp; Jerry"), "Tom & Jerry");
    assert_eq!(
        plain_text("<em>Rust</em> &lt;3 and <code>Vec</code>"),
        "Rust <3 and Vec"
    );
    assert_eq!(plain_text("a < b &amp;&amp; c > d"), "a < b && c > d");
    assert_eq!(plain_text("x<script>alert(1)</script>  y"), "x y");
    assert_eq!(plain_text("Tom & Jerry"), "Tom & Jerry");
    // bair.berkeley.edu: 12 titles broke a line between two words.
    assert_eq!(
        plain_text("Theory of Neural<br>Network Generalization<br/>"),
        "Theory of Neural Network Generalization"
    );
}

#[test]
fn a_real_post_needs_no_second_parse() {
    let html = crate::markdown::to_html(
        "# Title\n\nText with *emphasis*, `code` and a [link](../x/).[^1]\n\n\
         > quoted\n\n- one\n- two\n\n1. first\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n\
         ```rust\nfn main() {}\n```\n\n![img](a.png \"t\")\n\n---\n\n[^1]: A note.\n",
    );
    let first = clean(&html, &base());
    assert!(settled::settled(&first, MAX_DEPTH), "{first}");
    assert_eq!(portable(&html, &base()), first);
}

/// The tag-by-tag cleaning of `html`, where it is taken, beside the
/// parser's cleaning; `None` where the parser's way is taken.
fn both_ways(html: &str) -> Option<(String, String)> {
    let direct = direct::clean(html, &base())?;
    Some((direct, parsed(html, &base())))
}

#[test]
fn markdown_is_cleaned_tag_by_tag_as_the_parser_cleans_it() {
    let kramdown = crate::markdown::Flavour {
        kramdown: Some(crate::markdown::HeadingIds::Gfm),
        smart: true,
    };
    let markdown = "# Title {#top .big}\n\n## Second\n\n\
        Text with *emphasis*, **strong**, ~~gone~~, `a < b && \"c\"`, \u{a0}no-break,\n\
        a [link](../x/?a=1&b=2 \"Its \\\"title\\\"\"), <https://e.org/a?b&c>, <me@e.org>,\n\
        [bad](javascript:alert(1)), [odd](java&#9;script:x), [mail](mailto:a@b.org), [frag](#top).[^1]\n\
        Hard break  \nand &copy; &#8617; &#x1F600; &amp; 'single' \"double\" -- ... \\<b>\n\n\
        > quoted\n> > twice\n\n- one\n  - nested\n- two\n\n3. three\n4. four\n\n\
        | left | centre | right |\n|:---|:-:|--:|\n| 1 | 2 | 3 |\n\n\
        ```rust\nfn main() { println!(\"<&>\"); }\n```\n\n    indented <code>\n\n\
        ![img](a.png \"t\") ![abs](https://cdn.e.org/b.jpg)\n\n---\n\n[^1]: A note.\n";
    for flavour in [crate::markdown::Flavour::default(), kramdown] {
        let html = crate::markdown::to_html_with(markdown, flavour);
        let (direct, parsed) = both_ways(&html).expect("Markdown's HTML is taken tag by tag");
        assert_eq!(direct, parsed, "from {html}");
    }
}

#[test]
fn attributes_come_out_as_the_parser_s_cleaning_leaves_them() {
    for html in [
        // A dropped attribute's place goes to the last one, as in ammonia.
        r#"<p><img src="a.png" style="position: fixed" alt="x" width="1" /></p>"#,
        r#"<p><a href="../x" title="&quot;q&quot; &lt;" onclick="y()" rel="me">a &amp; b</a></p>"#,
        r#"<p><a href="javascript:x()" id="j">j</a><a href="//e.org/p" class="c">p</a></p>"#,
        "<table><thead><tr><th style=\"text-align: center\">h</th></tr></thead><tbody>\n<tr><td>1</td></tr>\n</tbody></table>",
        "<p>a</p>\n<!--more-->\n<p>b<!-- x <p> -- y --></p>",
    ] {
        let (direct, parsed) = both_ways(html).expect("taken tag by tag");
        assert_eq!(direct, parsed, "from {html}");
    }
    // Comments the tokenizer ends early are left to it.
    for html in ["<p>a<!-->b</p>", "<p>a<!--->b</p>", "<p>a<!-- x --!> b</p>"] {
        assert_eq!(direct::clean(html, &base()), None, "{html}");
    }
    let (img, _) =
        both_ways(r#"<img src="a.png" style="position: fixed" alt="x" width="1">"#).unwrap();
    assert!(img.ends_with(r#" width="1" alt="x">"#), "{img}");
}

#[test]
fn titles_are_read_off_their_tokens_as_the_parser_reads_them() {
    for title in [
        "A plain title",
        "<em>Tom</em> &amp; Jerry&#39;s\u{a0}caf&#xe9;",
        "<p>x</p><p>y</p>",
    ] {
        let text = direct::text(title).expect("read off the tokens");
        assert_eq!(text, parsed_text(title), "{title}");
    }
    // Left to the parser: a bare `&`, a name it knows and these do not,
    // a `<` that is text, an unclosed element, text it moves or drops.
    for title in [
        "Tom & Jerry",
        "Caf&eacute;",
        "a < b",
        "<em>x",
        "<table><tbody><tr><td>a</td></tr>b</tbody></table>",
        "<pre>\nx</pre>",
    ] {
        assert_eq!(direct::text(title), None, "{title}");
    }
}

#[test]
fn real_posts_are_cleaned_tag_by_tag_as_the_parser_cleans_them() {
    let posts = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/jekyll-news/_posts"
    );
    let flavour = crate::markdown::Flavour {
        kramdown: Some(crate::markdown::HeadingIds::Gfm),
        smart: true,
    };
    let (mut direct_way, mut all) = (0, 0);
    for entry in std::fs::read_dir(posts).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let body = text.splitn(3, "---\n").nth(2).unwrap_or(&text);
        for flavour in [crate::markdown::Flavour::default(), flavour] {
            let html = crate::markdown::to_html_with(body, flavour);
            all += 1;
            if let Some((direct, parsed)) = both_ways(&html) {
                assert_eq!(direct, parsed, "from {html}");
                direct_way += 1;
            }
        }
    }
    // Posts with raw HTML of other forms take the parser's way.
    assert!(direct_way * 10 > all * 9, "{direct_way} of {all}");
}

#[test]
fn markup_the_parser_would_rearrange_is_parsed_again() {
    // Each is cleaned into HTML that re-parses differently: an unwrapped
    // `marquee` (a scope boundary) leaves a block in a paragraph, a list
    // item in a list item, a heading in a heading, a link in a link.
    for input in [
        "<p><marquee><div>x</div></marquee></p>",
        "<ul><li><marquee><li>x</li></marquee></li></ul>",
        "<h2><marquee><h3>x</h3></marquee></h2>",
        r#"<a href="/x"><marquee><a href="/y">z</a></marquee></a>"#,
        "<pre>\n\nx</pre>",
    ] {
        let first = clean(input, &base());
        assert_ne!(clean(&first, &base()), first, "{input} is settled at once");
        assert!(!settled::settled(&first, MAX_DEPTH), "{input} -> {first}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of HTML that combine into broken, nested and hostile markup.
    fn piece() -> impl Strategy<Value = String> {
        let fixed = prop::sample::select(vec![
            "<p>",
            "</p>",
            "<a href=\"",
            "<a name=x/>",
            "</a>",
            "<b>",
            "</b>",
            "<i>",
            "</i>",
            "<table>",
            "<tr>",
            "<td>",
            "</table>",
            "<ul><li>",
            "<li>",
            "</ul>",
            "<blockquote>",
            "</blockquote>",
            "<div>",
            "</div>",
            "<pre><code class=\"language-x\">",
            "</code></pre>",
            "<img src=\"",
            "<img srcset=\"",
            "<video poster=\"",
            "<iframe src=\"",
            "</iframe>",
            "<svg><a xlink:href=\"",
            "</svg>",
            "<math><mi>",
            "</math>",
            "<form action=\"",
            "<button formaction=\"",
            "<script>",
            "</script>",
            "<style>",
            "<!--",
            "-->",
            "\">",
            "\" onclick=\"x()\">",
            " style=\"color:red;background:url(",
            "<br/>",
            "&amp;",
            "&#9;",
            "&colon;",
            "&",
            "<",
            ">",
            "\"",
            "'",
            "\t",
            "\n",
            "\u{1}",
            "javascript:",
            "java\tscript:",
            "JAVA&#x0A;SCRIPT:",
            "vbscript:",
            "data:text/html,",
            "mailto:a@b",
            "https://e.org/a?b=1&c=2",
            "/rel",
            "../up",
            "#frag",
            "text",
            " ",
        ])
        .prop_map(str::to_string);
        prop_oneof![4 => fixed, 1 => "\\PC{0,6}"]
    }

    fn html() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..40).prop_map(|pieces| pieces.concat())
    }

    /// Pieces of the markup posts are made of, nested rightly and wrongly,
    /// with the elements the parser treats specially among them.
    fn post_piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "<p>",
            "</p>",
            "<h2>",
            "</h2>",
            "<h3>",
            "<ul>",
            "</ul>",
            "<ol>",
            "</ol>",
            "<li>",
            "</li>",
            "<dl>",
            "<dt>",
            "<dd>",
            "</dl>",
            "<table>",
            "<thead>",
            "<tbody>",
            "<tr>",
            "<th>",
            "<td>",
            "</td>",
            "</tr>",
            "</tbody>",
            "</table>",
            "<caption>",
            "<col>",
            "<pre>",
            "<pre>\n",
            "\n",
            "</pre>",
            "<code>",
            "</code>",
            "<em>",
            "</em>",
            "<strong>",
            "<a href=\"x\">",
            "</a>",
            "<b>",
            "</b>",
            "<span>",
            "</span>",
            "<div>",
            "</div>",
            "<blockquote>",
            "</blockquote>",
            "<hr>",
            "<br>",
            "<img src=\"a.png\">",
            "<sup>",
            "</sup>",
            "<figure>",
            "<figcaption>",
            "<marquee>",
            "<object>",
            "<font>",
            "<nobr>",
            "<ruby><rt>",
            "<math><mi>",
            "<svg>",
            "&nbsp;",
            "text",
            " ",
            "\r",
            "\0",
            "<video><source src=x>",
            "<details><summary>",
            "<center>",
            "<address>",
            "<iframe src=\"https://e.org/\">",
            "<textarea>",
            "<button>",
            "<select>",
        ])
    }

    /// Markdown's HTML, from pieces of Markdown in any order.
    fn markdown_html() -> impl Strategy<Value = String> {
        markdown().prop_map(|(source, flavour)| crate::markdown::to_html_with(&source, flavour))
    }

    /// Pieces of Markdown in any order, and how they are read.
    fn markdown() -> impl Strategy<Value = (String, crate::markdown::Flavour)> {
        let piece = prop::sample::select(vec![
            "# ",
            "## h {#id .c}",
            "> ",
            "- ",
            "1. ",
            "  ",
            "\n",
            "\n\n",
            "```\n",
            "`",
            "*",
            "**",
            "~~",
            "[a](",
            "](",
            ")",
            "![i](",
            " \"t\"",
            "x.png",
            "/abs",
            "../up?a&b",
            "#f",
            "javascript:x",
            "<https://e.org/>",
            "&amp;",
            "&copy;",
            "&#8617;",
            "&#0;",
            "&#x80;",
            "&",
            "<",
            ">",
            "\"",
            "'",
            "\u{a0}",
            "\r",
            "|a|b|\n|-|:-|\n|1|2|\n",
            "[^1]",
            "[^1]: n\n",
            "<div>",
            "</div>",
            "<br>",
            "<span class=\"x\">",
            "</span>",
            "<!-- c -->",
            "text",
            "    code\n",
            "---\n",
            "\\",
            "- [ ] task\n",
            "### k {#a .b .c data-x=1 lang=en}\n",
            "# u {Key=v}\n",
            "# d {#a id=b}\n",
            "3. ",
            "|:-:|-:|\n",
            "<a@b.org>",
            "[l](/x \"t&'\")",
            "![a *b* `c`\nd](x.png \"t\")",
            "\\\n",
            "***\n",
            "```rust x\n",
            "~~~\n",
            "$$x$$",
            "$$a<b & 'c' \"d\"$$",
            "\n\n$$\nx^2\n$$\n\n",
            "HERALDKDMATH0X",
            "{:toc}\n",
            "* TOC\n{:toc}\n",
            "HERALDKDTOC",
            "[r]",
            "[r]: /ref \"T\"\n",
            "<p>",
            "</p>",
            "\u{feff}",
            "<!--more-->",
            "<!-->",
            "<!--->",
            "--!>",
            "-->",
            "<pre>",
        ]);
        let flavour = prop::sample::select(vec![false, true]);
        (prop::collection::vec(piece, 0..40), flavour).prop_map(|(pieces, kramdown)| {
            let flavour = crate::markdown::Flavour {
                kramdown: kramdown.then_some(crate::markdown::HeadingIds::Gfm),
                smart: kramdown,
            };
            (pieces.concat(), flavour)
        })
    }

    fn post_html() -> impl Strategy<Value = String> {
        prop::collection::vec(post_piece(), 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn xml_safe_drops_exactly_the_characters_xml_forbids(
            input in prop::collection::vec(prop_oneof![
                any::<char>(),
                prop::sample::select(vec!['\u{0}', '\u{1f}', '\u{7f}', '\u{fffe}', '\u{ffff}', '\u{fe0e}', '\t', '\r']),
            ], 0..200).prop_map(|c| c.into_iter().collect::<String>())
        ) {
            let forbidden = |c: char| {
                (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{7f}' | '\u{fffe}' | '\u{ffff}')
            };
            let expected: String = input.chars().filter(|&c| !forbidden(c)).collect();
            let out = xml_safe(&input);
            prop_assert_eq!(matches!(out, std::borrow::Cow::Borrowed(_)), expected == input);
            prop_assert_eq!(out.as_ref(), expected.as_str());
        }

        #[test]
        fn no_active_content_survives(input in html()) {
            let out = portable(&input, &base());
            prop_assert_eq!(active_content(&out), Vec::<String>::new(), "{}", out);
            prop_assert!(!out.contains("<style"), "{}", out);
        }

        #[test]
        fn a_settled_verdict_is_never_wrong(input in prop_oneof![html(), post_html()]) {
            let first = clean(&guard::guard(&input), &base());
            if settled::settled(&first, MAX_DEPTH) {
                prop_assert_eq!(clean(&first, &base()), first);
            }
        }

        #[test]
        fn tag_by_tag_cleaning_agrees_with_the_parser(
            input in prop_oneof![1 => html(), 1 => post_html(), 3 => markdown_html()]
        ) {
            if let Some((direct, parsed)) = both_ways(&input) {
                prop_assert_eq!(direct, parsed, "from {}", input);
            }
        }

        #[test]
        fn markdown_s_events_clean_as_its_html_cleans((source, flavour) in markdown()) {
            let via_html = portable(&crate::markdown::to_html_with(&source, flavour), &base());
            prop_assert_eq!(
                crate::markdown::to_portable(&source, flavour, &base()),
                via_html.clone(),
                "from {:?}",
                source
            );
            let first = crate::markdown::first_paragraph_html(&source).unwrap_or_default();
            prop_assert_eq!(
                crate::markdown::to_portable_with_excerpt(&source, flavour, &base()),
                (via_html, portable(&first, &base())),
                "from {:?}",
                source
            );
        }

        #[test]
        fn text_read_off_the_tokens_is_the_parser_s_text(
            input in prop_oneof![1 => html(), 1 => post_html(), 3 => markdown_html()]
        ) {
            if let Some(text) = direct::text(&input) {
                prop_assert_eq!(text, parsed_text(&input), "from {}", input);
            }
        }

        #[test]
        fn the_output_cleans_to_itself(input in prop_oneof![html(), post_html()]) {
            let out = portable(&input, &base());
            prop_assert_eq!(portable(&out, &base()), out.clone());
        }
    }
}
