//! A hostile post, shared by the feed tests (all three formats) and the
//! email tests (`preview`); `herald::html::active_content` checks the output.

// Not every test binary that includes `support` uses it.
#![allow(dead_code)]

/// Every link trick that fooled the old deny-list, in Markdown and raw HTML,
/// with a title written as HTML, an iframe whose URL has `&amp;`, and
/// broken markup. Front matter included; Liquid-free.
pub const POST: &str = r##"---
title: "Tom &amp; Jerry <em>strike</em> back"
date: 2024-06-01 10:00:00
---
Markdown links: [tab](java	script:alert(1)), [entity](java&#9;script:alert(1)),
[vb](vbscript:msgbox(1)), ![data](data:image/svg+xml,<svg onload=alert(1)>) and
<javascript:alert(2)>.

<p><a href="java&#x09;script:alert(3)">tab entity</a>
<a href="java&#10;script:alert(4)">newline</a>
<a href="java&#13;script:alert(5)">carriage return</a>
<a href="&#1;javascript:alert(6)">leading control</a>
<a href=" &#x1F;JaVaScRiPt:alert(7)">mixed case</a>
<a href="javascript&colon;alert(8)">colon entity</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg==">data</a>
<a href="/relative/?a=1&amp;b=2" onclick="alert(10)" onmouseover=alert(11)>kept, made absolute</a></p>

<img src="javascript:alert(12)" srcset="ok.png 1x, java&#9;script:alert(13) 2x, data:image/png;base64,AA 3x" onerror="alert(14)">
<video poster="javascript:alert(15)" src="vbscript:x"></video>
<blockquote cite="javascript:alert(16)">quoted</blockquote>
<svg><a xlink:href="javascript:alert(17)"><text>svg</text></a><animate attributeName="href" to="javascript:alert(18)"/></svg>
<form action="javascript:alert(19)"><button formaction="javascript:alert(20)">go</button><input type="image" formaction="javascript:alert(21)"></form>
<math href="javascript:alert(22)"><mi xlink:href="javascript:alert(23)">x</mi></math>
<p style="color: red; background: url(javascript:alert(24))">styled</p>
<object data="javascript:alert(25)"></object><embed src="javascript:alert(26)">
<script>alert(27)</script><style>body{background:url(javascript:alert(28))}</style>
<iframe src="https://www.youtube.com/embed/x?a=1&amp;b=2" title="A talk"></iframe>
<iframe src="javascript:alert(29)"></iframe>
<meta http-equiv="refresh" content="0;url=javascript:alert(30)">
<base href="javascript:alert(31)//">

<p><a name="anchor"/>Text after a self-closed anchor</p>
<p>A stray end tag</a> and <b>misnested <i>tags</b> here</i>.</p>
"##;
