from debatelab.cli import main

main()
