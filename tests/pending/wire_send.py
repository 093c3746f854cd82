import sys
p=sys.argv[1]
s=open(p).read()
old="""        Command::Send(_) | Command::Status | Command::Subscribers(_) => {"""
new="""        Command::Send(args) => {
            let site = load(cli, &root, false)?;
            let options = deliver::Options {
                dry_run: args.dry_run,
                to: args.to.clone(),
                all: args.all,
                post: args.post.clone(),
                mark_sent: args.mark_sent,
                resend_unknown: args.resend_unknown,
                progress: !cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let report = deliver::send(&site, &options)?;
            // The summary goes out even with -q when something needs attention.
            if !cli.quiet || !report.ok() {
                println!("{report}");
            }
            if !report.ok() {
                return Err(Error::Message(
                    "some emails were not delivered (listed above)".into(),
                ));
            }
        }
        Command::Status | Command::Subscribers(_) => {"""
assert s.count(old)==1, "arm not found"
s=s.replace(old,new)
s=s.replace("use herald::email::{self, preview};","use herald::deliver;\nuse herald::email::{self, preview};",1)
open(p,'w').write(s)
